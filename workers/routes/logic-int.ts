/**
 * pb.LogicInt: the server-to-server API a business server calls (gim's LogicInt), authenticated
 * by the server secret only (`authorization: Bearer <SERVER_SECRET>`), never by a user token.
 */
import type { MiddlewareHandler } from "hono";
import { encodeMessage } from "../../durable-objects/user-inbox/message-bytes";
import { roomMessageBody } from "../../durable-objects/chat-room/chat-room";
import { requireSendTime } from "../../durable-objects/user-inbox/send";
import { ErrorCode } from "../../proto/codes";
import { AppError, unwrap } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { requestBody, unary, type Service } from "../connect-rpc";
import { getDevice } from "../db/devices";
import { isUser, requireGroup } from "../directory";
import type { AppEnv } from "../env";
import { chatRoom, groupChat, PRESENCE_SHARDS, presenceShard, userInbox } from "../stubs";

const BUSINESS_SENDER = { senderType: pb.SenderType.ST_BUSINESS, senderId: 0 };

/**
 * Checks the bearer secret in constant time. Reads the body first so an early answer is clean;
 * a body too large is refused after this check, by serveUnary.
 */
export const serverSecret = (): MiddlewareHandler<AppEnv> =>
  async function serverSecret(c, next) {
    await requestBody(c).catch(() => undefined);
    const secret = c.env.SERVER_SECRET;
    if (!secret) {
      throw new AppError(ErrorCode.UNAVAILABLE, "the server-to-server API is disabled: set SERVER_SECRET");
    }
    const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
    if (!(await sameSecret(given, secret))) {
      throw new AppError(ErrorCode.UNAUTHORIZED, "a valid server secret is required (authorization: Bearer …)");
    }
    await next();
  };

async function sameSecret(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all(
    [a, b].map(async (s) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))),
  );
  return crypto.subtle.timingSafeEqual(ha!, hb!);
}

export const logicInt: Service = {
  SendMessage: unary({
    request: pb.SendMessageReq,
    response: pb.SendMessageResp,
    auth: "none",
    async handle(c, req) {
      if (!(req.receiverId > 0)) {
        throw new AppError(ErrorCode.BAD_REQUEST, "receiver_id is required");
      }
      requireSendTime(req.sendTime, Date.now());
      const body = encodeMessage({
        sender: BUSINESS_SENDER,
        receiverType: req.receiverType,
        receiverId: req.receiverId,
        toUserIds: req.toUserIds,
        messageType: req.messageType,
        messageContent: req.messageContent,
        sendTime: req.sendTime > 0 ? req.sendTime : Date.now(),
        status: pb.MessageStatus.MS_NORMAL,
        clientMsgId: req.clientMsgId,
      });
      if (req.receiverType === pb.ReceiverType.RT_GROUP) {
        await requireGroup(c.env, req.receiverId);
        const seq = unwrap(await groupChat(c.env, req.receiverId).post({ senderId: 0, deviceId: 0, clientMsgId: req.clientMsgId, body, persist: req.isPersist }));
        return { seq };
      }
      if (req.receiverType !== pb.ReceiverType.RT_USER) {
        throw new AppError(ErrorCode.BAD_REQUEST, "receiver_type must be RT_USER or RT_GROUP (rooms: PushRoom)");
      }
      if (!(await isUser(c.env, req.receiverId))) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${req.receiverId} does not exist`);
      }
      const inbox = userInbox(c.env, req.receiverId);
      if (!req.isPersist) {
        await inbox.pushTransient(body);
        return { seq: 0 };
      }
      // Only the receiver gets a copy (gim); the answer is its seq. A client_msg_id makes a retry a no-op.
      const msgId = req.clientMsgId ? `b:${req.clientMsgId}` : `b:${crypto.randomUUID()}`;
      const [seq] = await inbox.deliver([{ msgId, body }]);
      return { seq };
    },
  }),
  PushRoom: unary({
    request: pb.PushRoomReq,
    response: pb.Empty,
    auth: "none",
    async handle(c, req) {
      if (!(req.roomId > 0)) {
        throw new AppError(ErrorCode.BAD_REQUEST, "room_id is required");
      }
      const body = roomMessageBody(req.roomId, BUSINESS_SENDER, req, Date.now());
      await chatRoom(c.env, req.roomId).push({ body, persist: req.isPersist, priority: req.isPriority });
      return {};
    },
  }),
  PushAll: unary({
    request: pb.PushAllReq,
    response: pb.Empty,
    auth: "none",
    async handle(c, req) {
      const body = encodeMessage({
        sender: BUSINESS_SENDER,
        messageType: req.messageType,
        messageContent: req.messageContent,
        sendTime: req.sendTime > 0 ? req.sendTime : Date.now(),
        status: pb.MessageStatus.MS_NORMAL,
      });
      await Promise.all(Array.from({ length: PRESENCE_SHARDS }, (_, shard) => presenceShard(c.env, shard).pushAll(body)));
      return {};
    },
  }),
  GetDevice: unary({
    request: pb.GetDeviceReq,
    response: pb.GetDeviceResp,
    auth: "none",
    async handle(c, req) {
      const device = await getDevice(c.env.DB, req.deviceId);
      if (!device) {
        throw new AppError(ErrorCode.DEVICE_NOT_EXIST, `device ${req.deviceId} does not exist`);
      }
      const online = device.userId ? await userInbox(c.env, Number(device.userId)).deviceOnline(req.deviceId) : false;
      return { device: { ...device, status: online ? 1 : 0 } };
    },
  }),
};
