/**
 * Delivery of outbox rows to other inboxes (invariant 2). One delivery in flight per target keeps
 * the target's order equal to this inbox's order; rows queued meanwhile go in the next batch.
 */
import type { OutboxRow, Statements } from "./statements";

export interface DeliveryItem {
  /** Global id of the logical message; an inbox applies each id once. */
  msgId: string;
  /** Encoded pb.Message without seq. */
  body: Uint8Array | ArrayBuffer;
  /** Set on the sender's own copy: that device is acked up to it instead of getting a push. */
  fromDeviceId?: number;
}

export type DeliverFn = (targetUserId: number, items: DeliveryItem[]) => Promise<unknown>;

const BATCH_ROWS = 200;

export class Outbox {
  readonly #stmts: Statements;
  readonly #deliver: DeliverFn;
  readonly #inFlight = new Map<number, Promise<boolean>>();

  constructor(stmts: Statements, deliver: DeliverFn) {
    this.#stmts = stmts;
    this.#deliver = deliver;
  }

  /**
   * Delivers every pending row of `targetUserId`. Resolves true when none is left, false when a
   * delivery failed (the rows stay; the caller's alarm retries them).
   */
  drain(targetUserId: number): Promise<boolean> {
    const running = this.#inFlight.get(targetUserId);
    if (running) {
      // The running loop picks up rows queued after it started.
      return running;
    }
    const run = this.#drainLoop(targetUserId).finally(() => this.#inFlight.delete(targetUserId));
    this.#inFlight.set(targetUserId, run);
    return run;
  }

  /** Drains every target; true when the outbox is empty afterwards. */
  async drainAll(): Promise<boolean> {
    const results = await Promise.all(this.#stmts.outboxTargets().map((target) => this.drain(target)));
    return results.every(Boolean);
  }

  async #drainLoop(targetUserId: number): Promise<boolean> {
    for (;;) {
      const rows: OutboxRow[] = this.#stmts.outboxFor(targetUserId, BATCH_ROWS);
      const last = rows.at(-1);
      if (!last) {
        return true;
      }
      try {
        await this.#deliver(targetUserId, rows.map((row) => ({ msgId: row.msg_id, body: row.body })));
      } catch (err) {
        console.warn(`outbox: delivery to user ${targetUserId} failed, will retry`, err);
        return false;
      }
      this.#stmts.deleteOutboxUpTo(targetUserId, last.id);
    }
  }
}
