/**
 * A user's side of rooms: pushes as this user, and subscriptions made on the user's own sockets
 * (gim's PT_SUBSCRIBE_ROOM), for which the inbox becomes a target of the room and passes each
 * broadcast batch to its sockets subscribed to that room.
 */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import type { Env } from "../../workers/env";
import { chatRoom } from "../../workers/stubs";
import { CatchUp, offerBatch, type RoomItem } from "../chat-room/catch-up";
import { roomMessageBody } from "../chat-room/chat-room";
import type { Limits } from "../shared/limits";
import type { SenderProfile } from "./send";
import { closeWith, pushToDevices, readAttachment, writeAttachment } from "./sockets";

export class RoomSubscriptions {
  readonly #ctx: DurableObjectState;
  readonly #env: Env;
  readonly #userId: number;
  readonly #targetKey: string;
  /** Sockets at a room replay seam (see CatchUp). */
  readonly #catchUps = new Map<WebSocket, CatchUp>();

  constructor(ctx: DurableObjectState, env: Env, userId: number) {
    this.#ctx = ctx;
    this.#env = env;
    this.#userId = userId;
    this.#targetKey = `inbox:${userId}`;
  }

  /** Pushes to a room as this user (`profile` goes in the message); resolves the room seq (0 if not kept). */
  async push(req: pb.PushRoomReq, deviceId: number, profile: SenderProfile, limits: Limits): Promise<number> {
    if (!(req.roomId > 0)) {
      throw new AppError(ErrorCode.BAD_REQUEST, "room_id is required");
    }
    if (req.messageContent.length > limits.MAX_FRAME_BYTES) {
      throw new AppError(ErrorCode.BAD_REQUEST, `message_content is larger than ${limits.MAX_FRAME_BYTES} bytes`);
    }
    const sender = { senderType: pb.SenderType.ST_USER, senderId: this.#userId, deviceId, ...profile };
    const body = roomMessageBody(req.roomId, sender, req, Date.now());
    return chatRoom(this.#env, req.roomId).push({ body, persist: req.isPersist, priority: req.isPriority });
  }

  /** Writes a broadcast batch to the sockets subscribed to `roomId`; returns how many there are. */
  batch(roomId: number, items: RoomItem[]): number {
    const subscribed = this.#ctx.getWebSockets().filter((ws) => readAttachment(ws)?.roomId === roomId);
    offerBatch(subscribed, this.#catchUps, items, (targets, batch) => pushToDevices(targets, batch.map((item) => item.body)));
    return subscribed.length;
  }

  /** The room gave up delivering here: its subscribed sockets missed messages and must subscribe again. */
  lost(roomId: number): void {
    for (const ws of this.#ctx.getWebSockets()) {
      if (readAttachment(ws)?.roomId === roomId) {
        closeWith(ws, 1011, "fell behind the room; subscribe again from your last seq");
      }
    }
  }

  /**
   * Subscribes a socket to one room (0 = none), leaving its previous room in the same step, and
   * replays the kept messages from `fromSeq` (0 = no replay) ahead of live ones.
   */
  async subscribe(ws: WebSocket, roomId: number, fromSeq: number): Promise<void> {
    const attachment = readAttachment(ws);
    if (!attachment || roomId < 0) {
      throw new AppError(ErrorCode.BAD_REQUEST, "room_id must be 0 (leave) or a room id");
    }
    const previous = attachment.roomId ?? 0;
    writeAttachment(ws, { ...attachment, roomId });
    this.#catchUps.delete(ws);
    if (previous !== 0 && previous !== roomId) {
      await this.#report(previous);
    }
    if (roomId === 0) {
      return;
    }
    // Held before the room knows this target, so no live message can slip past the replay.
    const catchUp = fromSeq > 0 ? new CatchUp(fromSeq) : null;
    if (catchUp) {
      this.#catchUps.set(ws, catchUp);
    }
    await this.#report(roomId);
    if (catchUp) {
      void this.#replay(ws, roomId, fromSeq, catchUp);
    }
  }

  /** A socket closed: its room learns the new count. */
  async closed(ws: WebSocket): Promise<void> {
    this.#catchUps.delete(ws);
    const roomId = readAttachment(ws)?.roomId ?? 0;
    if (roomId !== 0) {
      await this.#report(roomId, ws);
    }
  }

  /** Tells a room how many of this user's open sockets are subscribed to it. */
  async #report(roomId: number, closing?: WebSocket): Promise<void> {
    const count = openSockets(this.#ctx, closing).filter((ws) => readAttachment(ws)?.roomId === roomId).length;
    await chatRoom(this.#env, roomId).reportSubscribers(this.#targetKey, count);
  }

  async #replay(ws: WebSocket, roomId: number, fromSeq: number, catchUp: CatchUp): Promise<void> {
    try {
      const replay = await chatRoom(this.#env, roomId).replay(fromSeq);
      if (this.#catchUps.get(ws) === catchUp) {
        pushToDevices([ws], catchUp.finish(replay).map((item) => item.body));
      }
    } catch (err) {
      console.warn(`${this.#targetKey}: room ${roomId} replay failed`, err);
      if (this.#catchUps.get(ws) === catchUp) {
        this.#catchUps.delete(ws);
      }
    }
  }
}

/** Open sockets, without `closing` (which may still be listed while its close is handled). */
export function openSockets(ctx: DurableObjectState, closing?: WebSocket): WebSocket[] {
  return ctx.getWebSockets().filter((ws) => ws !== closing && ws.readyState === WebSocket.OPEN);
}
