/**
 * RoomShard: holds up to ROOM_SHARD_SIZE sockets of one room (hibernation API) and writes each
 * broadcast batch to them, encoded once per format. A room larger than one object has several.
 */
import { DurableObject } from "cloudflare:workers";
import { ErrorCode } from "../../proto/codes";
import { connectErrorResponse } from "../../proto/connect-error";
import { pb } from "../../proto/gen/pb.js";
import type { Env } from "../../workers/env";
import { chatRoom } from "../../workers/stubs";
import { AlarmClock } from "../shared/alarm";
import { readLimits, type Limits } from "../shared/limits";
import { encodeOutput, frameTooLarge } from "../user-inbox/frames";
import { closeIdleSockets, closeWith, pushToDevices, readAttachment, sendQuietly, writeAttachment } from "../user-inbox/sockets";
import { CatchUp, offerBatch, type RoomItem } from "./catch-up";

export class RoomShard extends DurableObject<Env> {
  readonly #roomId: number;
  readonly #shard: number;
  readonly #limits: Limits;
  readonly #alarm: AlarmClock;
  /** Sockets at a replay seam (see CatchUp). */
  readonly #catchUps = new Map<WebSocket, CatchUp>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const [, room, , shard] = (ctx.id.name ?? "").split(":"); // "room:<id>:shard:<n>"
    this.#roomId = Number(room);
    this.#shard = Number(shard);
    this.#limits = readLimits(env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.#alarm = new AlarmClock(ctx.storage);
    void ctx.blockConcurrencyWhile(() => this.#alarm.load());
  }

  /** Writes a broadcast batch to every socket; resolves how many sockets the shard holds. */
  roomBatch(_roomId: number, items: RoomItem[]): number {
    const sockets = this.ctx.getWebSockets();
    offerBatch(sockets, this.#catchUps, items, (targets, batch) => pushToDevices(targets, batch.map((item) => item.body)));
    return sockets.length;
  }

  /** The room gave up delivering here: every socket missed messages and must subscribe again. */
  roomLost(_roomId: number): void {
    for (const ws of this.ctx.getWebSockets()) {
      closeWith(ws, 1011, "fell behind the room; subscribe again from your last seq");
    }
  }

  /** Accepts a room socket; the Worker authenticated it and the root chose this shard. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return connectErrorResponse(ErrorCode.BAD_REQUEST, "expected a WebSocket upgrade");
    }
    const now = Date.now();
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    writeAttachment(server, {
      v: 1,
      userId: Number(request.headers.get("x-gim-user-id")),
      deviceId: Number(request.headers.get("x-gim-device-id")),
      roomId: this.#roomId,
      format: new URL(request.url).searchParams.get("format") === "json" ? "json" : "binary",
      connectedAt: now,
      lastSeenAt: now,
    });
    const fromSeq = Number(request.headers.get("x-gim-seq") ?? 0);
    if (fromSeq > 0) {
      void this.#replay(server, fromSeq);
    }
    await this.#report();
    this.#alarm.arm(now + this.#limits.IDLE_TIMEOUT_MS / 2);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const attachment = readAttachment(ws);
    if (!attachment) {
      return;
    }
    writeAttachment(ws, { ...attachment, lastSeenAt: Date.now() });
    const format = typeof frame === "string" ? "json" : "binary";
    if (frameTooLarge(frame, this.#limits.MAX_FRAME_BYTES)) {
      const message = `frame larger than ${this.#limits.MAX_FRAME_BYTES} bytes`;
      sendQuietly(ws, encodeOutput({ type: pb.PackageType.PT_UNKNOWN, requestId: 0, code: ErrorCode.FRAME_TOO_LARGE, message }, format));
      return;
    }
    let input: pb.Input;
    let leaving: boolean;
    try {
      input = typeof frame === "string" ? pb.Input.fromObject(JSON.parse(frame) as Record<string, unknown>) : pb.Input.decode(new Uint8Array(frame));
      leaving = input.type === pb.PackageType.PT_SUBSCRIBE_ROOM && pb.SubscribeRoomInput.decode(input.data).roomId === 0;
    } catch {
      sendQuietly(ws, encodeOutput({ type: pb.PackageType.PT_UNKNOWN, requestId: 0, code: ErrorCode.BAD_REQUEST, message: "invalid frame" }, format));
      return;
    }
    if (input.type === pb.PackageType.PT_HEARTBEAT) {
      sendQuietly(ws, encodeOutput({ type: input.type, requestId: input.requestId }, format));
    } else if (leaving) {
      sendQuietly(ws, encodeOutput({ type: input.type, requestId: input.requestId }, format));
      closeWith(ws, 1000, "left the room");
    } else {
      const message = "a room socket only receives: heartbeat, or PT_SUBSCRIBE_ROOM with room_id 0 to leave";
      sendQuietly(ws, encodeOutput({ type: input.type, requestId: input.requestId, code: ErrorCode.UNKNOWN_PACKET_TYPE, message }, format));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.#catchUps.delete(ws);
    closeWith(ws, code === 1005 || code === 1006 ? 1000 : code, "");
    await this.#report();
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#catchUps.delete(ws);
    await this.#report();
  }

  override async alarm(): Promise<void> {
    this.#alarm.fired();
    const now = Date.now();
    closeIdleSockets(this.ctx, this.#limits.IDLE_TIMEOUT_MS, now);
    if (this.ctx.getWebSockets().length > 0) {
      this.#alarm.arm(now + this.#limits.IDLE_TIMEOUT_MS / 2);
    }
  }

  /** Sends the kept messages from `fromSeq`, then what arrived meanwhile, each once. */
  async #replay(ws: WebSocket, fromSeq: number): Promise<void> {
    const catchUp = new CatchUp(fromSeq);
    this.#catchUps.set(ws, catchUp);
    try {
      const replay = await chatRoom(this.env, this.#roomId).replay(fromSeq);
      pushToDevices([ws], catchUp.finish(replay).map((item) => item.body));
    } catch (err) {
      this.#catchUps.delete(ws);
      console.warn(`RoomShard:${this.#roomId}/${this.#shard} replay failed`, err);
      closeWith(ws, 1011, "replay failed; subscribe again");
    }
  }

  async #report(): Promise<void> {
    const open = this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING).length;
    await chatRoom(this.env, this.#roomId).reportSubscribers(`shard:${this.#shard}`, open);
  }
}
