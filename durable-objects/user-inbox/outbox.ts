/**
 * Delivery of outbox rows to other inboxes (invariant 2). One delivery in flight per target keeps
 * the target's order equal to this inbox's order; rows queued meanwhile go in the next batch.
 *
 * The table is the truth; memory keeps a copy of the rows this object wrote, so the delivery
 * right after a send does not read back what it just wrote (one query less per message). A
 * target whose rows may not all be in memory (rows from before this object started, after a
 * rolled-back transaction, or too many waiting) is read from the table until it has caught up.
 */
import { OUTBOX_BATCH_ROWS, type Statements } from "./statements";

export interface DeliveryItem {
  /** Global id of the logical message; an inbox applies each id once. */
  msgId: string;
  /** Encoded pb.Message without seq. */
  body: Uint8Array | ArrayBuffer;
  /** Set on the sender's own copy: that device is acked up to it instead of getting a push. */
  fromDeviceId?: number;
}

export type DeliverFn = (targetUserId: number, items: DeliveryItem[]) => Promise<unknown>;

interface PendingRow {
  id: number;
  item: DeliveryItem;
}

/** Past this many waiting rows a target's copy in memory is dropped and the table is read instead. */
const MAX_ROWS_IN_MEMORY = 5 * OUTBOX_BATCH_ROWS;

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
  /** Undelivered rows per target, in id order, for targets not in #readFromTable. */
  readonly #inMemory = new Map<number, PendingRow[]>();
  /** Targets whose rows may not all be in #inMemory. */
  #readFromTable: Set<number>;
  /** Rows inserted by the transaction in progress; kept in memory once it succeeds. */
  #staged: { target: number; row: PendingRow }[] = [];
  #lastId: number;

  constructor(stmts: Statements, deliver: DeliverFn) {
    this.#stmts = stmts;
    this.#deliver = deliver;
    this.#readFromTable = new Set(stmts.outboxTargets());
    this.#lastId = stmts.lastOutboxId();
  }

  /** Inserts a row for `targetUserId`; call inside a transaction, then committed() or rolledBack(). */
  enqueue(targetUserId: number, msgId: string, body: Uint8Array): void {
    const id = ++this.#lastId;
    this.#stmts.insertOutbox(id, targetUserId, msgId, body);
    this.#staged.push({ target: targetUserId, row: { id, item: { msgId, body } } });
  }

  /** The transaction that enqueued rows succeeded: they join the copy in memory. */
  committed(): void {
    for (const { target, row } of this.#staged) {
      if (this.#readFromTable.has(target)) {
        continue; // the table read finds it
      }
      const rows = this.#inMemory.get(target) ?? [];
      rows.push(row);
      if (rows.length > MAX_ROWS_IN_MEMORY) {
        this.#inMemory.delete(target);
        this.#readFromTable.add(target);
      } else {
        this.#inMemory.set(target, rows);
      }
    }
    this.#staged = [];
  }

  /** The transaction failed and rolled back: the table is the only truth again. */
  rolledBack(): void {
    this.#staged = [];
    this.#inMemory.clear();
    this.#readFromTable = new Set(this.#stmts.outboxTargets());
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
      const rows = this.#nextRows(targetUserId);
      const last = rows.at(-1);
      if (!last) {
        return true;
      }
      try {
        await this.#deliver(targetUserId, rows.map((row) => row.item));
      } catch (err) {
        console.warn(`outbox: delivery to user ${targetUserId} failed, will retry`, err);
        return false;
      }
      this.#deliveredUpTo.set(targetUserId, last.id);
      const waiting = this.#inMemory.get(targetUserId);
      if (waiting) {
        const left = waiting.filter((row) => row.id > last.id);
        if (left.length > 0) {
          this.#inMemory.set(targetUserId, left);
        } else {
          this.#inMemory.delete(targetUserId);
        }
      }
      if (rows.length < OUTBOX_BATCH_ROWS) {
        return true; // that was all; rows written meanwhile set #wanted and drain loops again
      }
    }
  }

  /** The next rows of one target after the delivered ones, from memory or from the table. */
  #nextRows(targetUserId: number): PendingRow[] {
    if (!this.#readFromTable.has(targetUserId)) {
      return (this.#inMemory.get(targetUserId) ?? []).slice(0, OUTBOX_BATCH_ROWS); // delivered rows are dropped from it
    }
    const rows = this.#stmts.outboxFor(targetUserId, this.#deliveredUpTo.get(targetUserId) ?? 0);
    if (rows.length < OUTBOX_BATCH_ROWS) {
      // The table had nothing more: every later row of this target is written by this object
      // (ids only grow), so memory has them from here on.
      this.#readFromTable.delete(targetUserId);
    }
    return rows.map((row) => ({ id: row.id, item: { msgId: row.msg_id, body: row.body } }));
  }
}
