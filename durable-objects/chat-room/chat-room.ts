/**
 * ChatRoom: the root of one room (read diffusion, gim's rooms). Orders the room's messages (room
 * seq), keeps the persisted ones for a short replay window, and broadcasts each message once per
 * target: RoomShard objects that hold the room's sockets, and user inboxes for subscriptions made
 * on a user's own socket. Room messages never enter user inboxes' message lists.
 */
import { DurableObject } from "cloudflare:workers";
import { pb } from "../../proto/gen/pb.js";
import type { Env } from "../../workers/env";
import { roomShard, userInbox } from "../../workers/stubs";
import { migrate } from "../shared/migrate";
import { encodeMessage, withSeq } from "../user-inbox/message-bytes";
import { Broadcaster } from "./broadcaster";
import type { RoomItem } from "./catch-up";
import { ROOM_MIGRATIONS } from "./schema";

const PRUNE_EVERY_MS = 1_000;

export interface RoomPush {
  /** Encoded pb.Message without seq. */
  body: Uint8Array;
  persist: boolean;
  priority: boolean;
}

export interface RoomInfo {
  subscribers: number;
  seq: number;
}

export class ChatRoom extends DurableObject<Env> {
  readonly #roomId: number;
  readonly #sql: SqlStorage;
  readonly #broadcaster: Broadcaster;
  readonly #targets = new Map<string, number>();
  readonly #retentionMs: number;
  readonly #retentionCount: number;
  readonly #shardSize: number;
  #lastSeq: number;
  #prunedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#roomId = Number(ctx.id.name?.replace(/^room:/, ""));
    this.#sql = ctx.storage.sql;
    migrate(this.#sql, ROOM_MIGRATIONS);
    this.#retentionMs = Number(env.ROOM_REPLAY_SECONDS ?? 120) * 1000;
    this.#retentionCount = Number(env.ROOM_REPLAY_MAX ?? 1000);
    this.#shardSize = Number(env.ROOM_SHARD_SIZE ?? 10_000);
    this.#lastSeq = this.#sql.exec<{ last_seq: number }>("SELECT last_seq FROM meta").one().last_seq;
    for (const row of this.#sql.exec<{ key: string; subscribers: number }>("SELECT key, subscribers FROM targets")) {
      this.#targets.set(row.key, row.subscribers);
    }
    this.#broadcaster = new Broadcaster(
      (key, items) => this.#deliver(key, items),
      { batchItems: 100, maxBacklog: 10_000 },
      (key, n) => this.#setCount(key, n),
      (key) => this.#dropTarget(key),
    );
  }

  /** Orders a message and queues it for every target; resolves its room seq (0 if not kept). */
  push(input: RoomPush): number {
    const now = Date.now();
    let item: RoomItem;
    if (input.persist) {
      const seq = ++this.#lastSeq;
      item = { seq, body: withSeq(input.body, seq) };
      this.ctx.storage.transactionSync(() => {
        this.#sql.exec("UPDATE meta SET last_seq = ?", seq);
        this.#sql.exec("INSERT INTO messages (seq, body, created_at) VALUES (?, ?, ?)", seq, item.body, now);
      });
      this.#pruneReplay(now);
    } else {
      item = { seq: 0, body: input.body };
    }
    this.#broadcaster.publish(this.#targets.keys(), item, input.priority);
    return item.seq;
  }

  /** Kept messages with seq >= `fromSeq`, in order (the replay of a subscription). */
  replay(fromSeq: number): RoomItem[] {
    const since = Date.now() - this.#retentionMs;
    return this.#sql
      .exec<{ seq: number; body: ArrayBuffer }>("SELECT seq, body FROM messages WHERE seq >= ? AND created_at > ? ORDER BY seq", fromSeq, since)
      .toArray()
      .map((row) => ({ seq: row.seq, body: new Uint8Array(row.body) }));
  }

  /** Picks the shard for a new room socket (the first with room) and counts it there already. */
  assignShard(): number {
    for (let shard = 0; ; shard++) {
      const key = `shard:${shard}`;
      const count = this.#targets.get(key) ?? 0;
      if (count < this.#shardSize) {
        this.#setCount(key, count + 1);
        return shard;
      }
    }
  }

  /** A target tells how many of the room's subscribers it holds now (0 = none: it leaves). */
  reportSubscribers(targetKey: string, subscribers: number): void {
    this.#setCount(targetKey, subscribers);
  }

  info(): RoomInfo {
    let subscribers = 0;
    for (const count of this.#targets.values()) {
      subscribers += count;
    }
    return { subscribers, seq: this.#lastSeq };
  }

  // ---- private helpers ----

  #deliver(key: string, items: RoomItem[]): Promise<number> {
    return this.#target(key).roomBatch(this.#roomId, items);
  }

  /**
   * A target the broadcast gave up on: its sockets on this room missed messages, so it is told to
   * close them (they subscribe again and replay from their last seq). A target that cannot be
   * reached lost its sockets anyway.
   */
  #dropTarget(key: string): void {
    this.#setCount(key, 0);
    this.#target(key)
      .roomLost(this.#roomId)
      .catch((err: unknown) => console.warn(`ChatRoom:${this.#roomId} could not tell ${key} it fell behind`, err));
  }

  #target(key: string) {
    const [kind, id] = key.split(":");
    return kind === "shard" ? roomShard(this.env, this.#roomId, Number(id)) : userInbox(this.env, Number(id));
  }

  #setCount(key: string, subscribers: number): void {
    if (subscribers > 0) {
      if (this.#targets.get(key) !== subscribers) {
        this.#targets.set(key, subscribers);
        this.#sql.exec("INSERT INTO targets (key, subscribers) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET subscribers = excluded.subscribers", key, subscribers);
      }
    } else if (this.#targets.delete(key)) {
      this.#sql.exec("DELETE FROM targets WHERE key = ?", key);
    }
  }

  #pruneReplay(now: number): void {
    if (now - this.#prunedAt < PRUNE_EVERY_MS) {
      return;
    }
    this.#prunedAt = now;
    this.#sql.exec("DELETE FROM messages WHERE created_at <= ? OR seq <= ?", now - this.#retentionMs, this.#lastSeq - this.#retentionCount);
  }
}

/** The encoded message (without seq) of a room push. */
export function roomMessageBody(roomId: number, sender: pb.ISender, req: pb.PushRoomReq, now: number): Uint8Array {
  return encodeMessage({
    sender,
    receiverType: pb.ReceiverType.RT_ROOM,
    receiverId: roomId,
    messageType: req.messageType,
    messageContent: req.messageContent,
    sendTime: now,
    status: pb.MessageStatus.MS_NORMAL,
  });
}
