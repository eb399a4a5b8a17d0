/**
 * The inbox's writes on the message path: its own sends, copies delivered by other objects, and
 * device acks. Those that arrive together are applied in one transaction, so under load one
 * commit (one fsync locally) carries many messages. Each message still gets its seq and row in
 * the same transaction, and nothing is pushed before that transaction commits (invariant 1).
 */
import { Coalescer } from "../shared/coalescer";
import type { EventOutbox } from "../shared/event-outbox";
import { messageEvents, type OfflineDevice } from "./events";
import { withSeq } from "./message-bytes";
import type { DeliveryItem, Outbox } from "./outbox";
import { deviceTag, pushToDevices } from "./sockets";
import type { Statements } from "./statements";

/**
 * Safety net: if the immediate delivery of a new outbox row is lost with the object (a crash
 * between the commit and the call), the alarm delivers it this much later. Failed deliveries
 * retry on their own, sooner. Not shorter: under steady sends each firing re-arms the alarm,
 * and every alarm change is a commit of its own in the runtime's alarm store (an fsync locally).
 */
const OUTBOX_ALARM_MS = 30_000;

export type InboxWrite =
  /** The sender's copy of a 1:1 send, with its dedup record and (to another user) its outbox row. */
  | { kind: "send"; deviceId: number; receiverId: number; clientMsgId: string; body: Uint8Array }
  /** Copies sent by other objects, applied once each (dedup by message id), in order. */
  | { kind: "deliver"; items: DeliveryItem[] }
  /** Writes the acks recorded with `ack` (they also ride along with any other batch). */
  | { kind: "acks" }
  /** Records a group send by client message id, so a retry is known before the send hook. */
  | { kind: "sentRecord"; clientMsgId: string; seq: number };

export interface InboxWritesDeps {
  ctx: DurableObjectState;
  stmts: Statements;
  outbox: Outbox;
  events: EventOutbox;
  userId: number;
  armAlarm: (at: number) => void;
  /** Writes that ride along with every batch (they would cost a commit of their own). */
  rideAlong: () => void;
}

interface Push {
  body: Uint8Array;
  exceptDeviceId: number;
}

/**
 * What the writes of one batch share: its time, the pushes sent after its commit, and for events
 * the user's offline devices, looked up once per batch rather than once per message.
 */
interface Batch {
  now: number;
  pushes: Push[];
  offline?: OfflineDevice[];
}

export class InboxWrites {
  readonly #deps: InboxWritesDeps;
  #lastSeq: number;
  /** Device acks not yet written: device id -> highest ack. */
  readonly #acks = new Map<number, number>();
  readonly #batches = new Coalescer<InboxWrite, number[]>((batch) => this.#applyBatch(batch));

  constructor(deps: InboxWritesDeps) {
    this.#deps = deps;
    this.#lastSeq = deps.stmts.lastSeq();
  }

  /**
   * Queues a write for the next batch. Resolves: for a send its seq (one element, the earlier seq
   * when its client message id was seen before), for a delivery each item's seq in this inbox.
   */
  write(op: InboxWrite): Promise<number[]> {
    return this.#batches.add(op);
  }

  /** Moves a device's ack forward (never back, never past the last seq), written with the next batch. */
  ack(deviceId: number, ackSeq: number): void {
    const seq = Math.min(ackSeq, this.#lastSeq);
    if (seq <= 0 || seq <= (this.#acks.get(deviceId) ?? 0)) {
      return;
    }
    const first = this.#acks.size === 0;
    this.#acks.set(deviceId, seq);
    if (first) {
      // Acks are advisory (where a seq-0 sync starts): a failed write is logged, not retried.
      this.write({ kind: "acks" }).catch((err: unknown) => console.warn("UserInbox: acks not written", err));
    }
  }

  /** The inbox's highest seq. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The highest ack among the user's devices, including acks not written yet. */
  maxAck(): number {
    return Math.max(this.#deps.stmts.maxAck(), ...this.#acks.values());
  }

  /** Runs `fn` in one SQLite transaction; on failure what memory keeps of the tables is reloaded. */
  transaction<T>(fn: () => T): T {
    const { ctx, outbox, stmts } = this.#deps;
    let result: T;
    try {
      result = ctx.storage.transactionSync(fn);
    } catch (err) {
      this.#lastSeq = stmts.lastSeq();
      outbox.rolledBack();
      throw err;
    }
    outbox.committed();
    return result;
  }

  #applyBatch(batch: InboxWrite[]): number[][] {
    const { ctx, events, outbox, userId } = this.#deps;
    const now = Date.now();
    const pushes: Push[] = [];
    const context: Batch = { now, pushes };
    const results = this.transaction(() => {
      outbox.deleteDelivered();
      this.#writeAcks();
      this.#deps.rideAlong();
      return batch.map((op) => this.#apply(op, context));
    });
    events.kick();
    if (batch.some((op) => op.kind === "send" && op.receiverId !== userId)) {
      this.#deps.armAlarm(now + OUTBOX_ALARM_MS);
    }
    const sockets = ctx.getWebSockets();
    for (const { body, exceptDeviceId } of pushes) {
      pushToDevices(sockets, [body], exceptDeviceId);
    }
    return results;
  }

  #apply(op: InboxWrite, batch: Batch): number[] {
    switch (op.kind) {
      case "send":
        return [this.#applySend(op, batch)];
      case "deliver":
        return op.items.map((item) => this.#applyDelivery(item, batch));
      case "acks":
        return [];
      case "sentRecord":
        this.#deps.stmts.insertSentIfNew(op.clientMsgId, op.seq, batch.now);
        return [];
    }
  }

  #applySend(op: InboxWrite & { kind: "send" }, batch: Batch): number {
    const { outbox, stmts, userId } = this.#deps;
    const { now, pushes } = batch;
    const seq = this.#lastSeq + 1;
    if (op.clientMsgId && !stmts.insertSentIfNew(op.clientMsgId, seq, now)) {
      return stmts.sentSeq(op.clientMsgId) as number; // a retry: its original seq
    }
    this.#lastSeq = seq;
    const msgId = `u${userId}:${seq}`;
    const stored = withSeq(op.body, seq);
    stmts.insertMessage(seq, msgId, stored, now);
    if (op.receiverId !== userId) {
      outbox.enqueue(op.receiverId, msgId, op.body);
    }
    stmts.advanceAck(op.deviceId, seq);
    this.#messageEvents(batch, seq, msgId, stored);
    pushes.push({ body: stored, exceptDeviceId: op.deviceId });
    return seq;
  }

  /** Stores one delivered copy unless its message id is already here; returns its seq. */
  #applyDelivery(item: DeliveryItem, batch: Batch): number {
    const { stmts } = this.#deps;
    const { now, pushes } = batch;
    const seq = this.#lastSeq + 1;
    const body = withSeq(new Uint8Array(item.body), seq);
    if (!stmts.insertMessageIfNew(seq, item.msgId, body, now)) {
      return stmts.seqOfMessage(item.msgId) as number;
    }
    this.#lastSeq = seq;
    if (item.fromDeviceId) {
      stmts.advanceAck(item.fromDeviceId, seq);
    }
    this.#messageEvents(batch, seq, item.msgId, body);
    pushes.push({ body, exceptDeviceId: item.fromDeviceId ?? 0 });
    return seq;
  }

  #writeAcks(): void {
    for (const [deviceId, seq] of this.#acks) {
      this.#deps.stmts.advanceAck(deviceId, seq);
    }
    this.#acks.clear();
  }

  /** Records the events of a stored message (inside its transaction), when events are on. */
  #messageEvents(batch: Batch, seq: number, msgId: string, body: Uint8Array): void {
    const { ctx, events, stmts, userId } = this.#deps;
    if (events.enabled) {
      batch.offline ??= stmts.devices().filter((d) => ctx.getWebSockets(deviceTag(d.device_id)).length === 0);
      messageEvents(userId, seq, msgId, body, batch.offline).forEach(([type, data]) => events.add(type, data));
    }
  }
}
