/** Rooms: GET /room (a socket attached to the room's shard objects), PushRoom, GetRoomInfo. */
import type { Context } from "hono";
import { encode } from "../../proto/codec";
import { ErrorCode } from "../../proto/codes";
import { connectErrorResponse } from "../../proto/connect-error";
import { AppError, unwrap } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { unary, type Service } from "../connect-rpc";
import { credentialId } from "../credentials";
import { authenticate } from "../directory";
import type { AppEnv } from "../env";
import { chatRoom, roomShard, userInbox } from "../stubs";
import { withoutCompression } from "./no-compression";

function param(c: Context<AppEnv>, name: string): string {
  return c.req.query(name) ?? c.req.header(name) ?? c.req.header(name.replace(/_/g, "-")) ?? "";
}

/**
 * GET /room?room_id=…&seq=…&user_id=…&device_id=…&token=…: authenticates, asks the room which
 * shard has room, and hands the upgrade to that shard. `seq` > 0 replays kept messages from it.
 */
export async function upgradeRoomSocket(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return connectErrorResponse(ErrorCode.BAD_REQUEST, "expected a WebSocket upgrade");
  }
  const roomId = Number(param(c, "room_id"));
  const seq = Number(param(c, "seq") || 0);
  const userId = credentialId(param(c, "user_id"));
  const deviceId = credentialId(param(c, "device_id"));
  if (!Number.isSafeInteger(roomId) || roomId <= 0 || !Number.isSafeInteger(seq) || seq < 0) {
    return connectErrorResponse(ErrorCode.BAD_REQUEST, "room_id (> 0) and seq (>= 0) must be integers");
  }
  if (!userId || !deviceId) {
    return connectErrorResponse(ErrorCode.UNAUTHORIZED, "user_id, device_id and token are required");
  }
  await authenticate(c.env, userId, deviceId, param(c, "token"));
  const shard = await chatRoom(c.env, roomId).assignShard();
  const headers = new Headers(c.req.raw.headers);
  headers.set("x-gim-user-id", String(userId));
  headers.set("x-gim-device-id", String(deviceId));
  headers.set("x-gim-seq", String(seq));
  return withoutCompression(await roomShard(c.env, roomId, shard).fetch(new Request(c.req.url, { headers })));
}

export const roomMethods: Service = {
  PushRoom: unary({
    request: pb.PushRoomReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      unwrap(await userInbox(c.env, caller.userId).pushRoom(caller.deviceId, encode(pb.PushRoomReq, req)));
      return {};
    },
  }),
  GetRoomInfo: unary({
    request: pb.GetRoomInfoReq,
    response: pb.GetRoomInfoResp,
    auth: "verify",
    async handle(c, req) {
      if (!(req.roomId > 0)) {
        throw new AppError(ErrorCode.BAD_REQUEST, "room_id is required");
      }
      const info = await chatRoom(c.env, req.roomId).info();
      return { roomId: req.roomId, subscriberCount: info.subscribers, seq: info.seq };
    },
  }),
};
