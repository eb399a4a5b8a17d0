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
  /** Targets with rows written since their drain loop last looked. */
  readonly #wanted = new Set<number>();
  /**
   * Rows delivered but not yet deleted, per target (last id). Deleting them in the owner's next
   * transaction instead of right away saves one commit per delivery; after a reset they are
   * delivered again and the receiver ignores them (it applies each message id once).
   */
  readonly #deliveredUpTo = new Map<number, number>();

  constructor(stmts: Statements, deliver: DeliverFn) {
    this.#stmts = stmts;
    this.#deliver = deliver;
  }

  /**
   * Delivers every pending row of `targetUserId`. Resolves true when none is left, false when a
   * delivery failed (the rows stay; the caller's alarm retries them).
   */
  drain(targetUserId: number): Promise<boolean> {
    this.#wanted.add(targetUserId);
    const running = this.#inFlight.get(targetUserId);
    if (running) {
      return running; // it sees the flag and loops again
    }
    const run = (async () => {
      try {
        while (this.#wanted.delete(targetUserId)) {
          if (!(await this.#drainLoop(targetUserId))) {
            return false;
          }
        }
        return true;
      } finally {
        this.#inFlight.delete(targetUserId);
      }
    })();
    this.#inFlight.set(targetUserId, run);
    return run;
  }

  /** Drains every target; true when the outbox is empty afterwards. */
  async drainAll(): Promise<boolean> {
    const results = await Promise.all(this.#stmts.outboxTargets().map((target) => this.drain(target)));
    return results.every(Boolean);
  }

  /** Deletes delivered rows; call inside a transaction the owner writes anyway. */
  deleteDelivered(): void {
    for (const [target, lastId] of this.#deliveredUpTo) {
      this.#stmts.deleteOutboxUpTo(target, lastId);
    }
    this.#deliveredUpTo.clear();
  }

  async #drainLoop(targetUserId: number): Promise<boolean> {
    for (;;) {
      const rows: OutboxRow[] = this.#stmts.outboxFor(targetUserId, this.#deliveredUpTo.get(targetUserId) ?? 0, BATCH_ROWS);
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
      this.#deliveredUpTo.set(targetUserId, last.id);
      if (rows.length < BATCH_ROWS) {
        return true; // that was all; rows written meanwhile set #wanted and drain loops again
      }
    }
  }
}
