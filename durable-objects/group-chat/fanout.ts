/**
 * Group fan-out by member cursors: each member's inbox receives the group log in group order,
 * one batch in flight per member, a bounded number of members at once. Cursors advance in memory
 * and are saved in batches; after a reset a member may get a batch again, which its inbox
 * deduplicates by message id (invariant 2 without one write per member per message).
 */
import type { DeliveryItem } from "../user-inbox/outbox";
import type { LogRow, Statements } from "./statements";

export type DeliverFn = (userId: number, items: DeliveryItem[]) => Promise<number[]>;

interface MemberCursor {
  cursor: number;
  /** Last group seq this member is owed: null while a member (= the head). */
  until: number | null;
}

export interface FanoutOptions {
  /** Members delivered to at once (bounds the object's outgoing request rate). */
  concurrency: number;
  /** Log rows per delivery call. */
  batchRows: number;
}

export class GroupFanout {
  readonly #stmts: Statements;
  readonly #deliver: DeliverFn;
  readonly #options: FanoutOptions;
  readonly #members = new Map<number, MemberCursor>();
  /** Members whose cursor moved since the last save. */
  readonly #unsaved = new Set<number>();
  readonly #chains = new Map<number, Promise<void>>();
  readonly #queue: number[] = [];
  readonly #queued = new Set<number>();
  #workers = 0;
  #head = 0;
  #failed = false;

  constructor(stmts: Statements, deliver: DeliverFn, options: FanoutOptions) {
    this.#stmts = stmts;
    this.#deliver = deliver;
    this.#options = options;
    this.#head = stmts.head();
    for (const row of stmts.allMembers()) {
      this.#members.set(row.user_id, { cursor: row.cursor, until: row.until_gseq });
    }
  }

  get head(): number {
    return this.#head;
  }

  /** Claims the next group seq (the caller writes the log row in the same synchronous block). */
  nextGseq(): number {
    return ++this.#head;
  }

  /** Reloads the head after a failed transaction. */
  resetHead(): void {
    this.#head = this.#stmts.head();
  }

  track(userId: number, cursor: number, until: number | null): void {
    this.#members.set(userId, { cursor, until });
  }

  /** A member leaves: it is still owed the log up to `untilGseq`, from where its delivery stands. */
  end(userId: number, untilGseq: number): void {
    this.#members.set(userId, { cursor: this.#members.get(userId)?.cursor ?? untilGseq, until: untilGseq });
  }

  /** True when some member still has log rows to receive. */
  pending(): boolean {
    for (const member of this.#members.values()) {
      if (member.cursor < (member.until ?? this.#head)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the last round had a failed delivery (cleared by the next kick). */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Delivers everything pending for one member, after any delivery already running for it.
   * Resolves the member's inbox seq of `wantedMsgId` when this call delivered it.
   */
  deliverTo(userId: number, wantedMsgId?: string): Promise<number | undefined> {
    let seq: number | undefined;
    const previous = this.#chains.get(userId) ?? Promise.resolve();
    const run = previous.then(async () => {
      seq = await this.#catchUp(userId, wantedMsgId);
    });
    const settled = run.catch(() => undefined);
    this.#chains.set(userId, settled);
    void settled.then(() => {
      if (this.#chains.get(userId) === settled) {
        this.#chains.delete(userId);
      }
    });
    return run.then(() => seq);
  }

  /** Starts delivering to every member that is behind; resolves when this round is done. */
  async kickAll(): Promise<void> {
    this.#failed = false;
    for (const [userId, member] of this.#members) {
      if (member.cursor < (member.until ?? this.#head) && !this.#queued.has(userId)) {
        this.#queued.add(userId);
        this.#queue.push(userId);
      }
    }
    const workers: Promise<void>[] = [];
    while (this.#workers < this.#options.concurrency && this.#queue.length > 0) {
      workers.push(this.#work());
    }
    await Promise.all(workers);
  }

  /**
   * Saves moved cursors and forgets removed members that received everything they were owed.
   * Returns the ids of members dropped, and the lowest saved cursor (log rows up to it can go).
   */
  saveCursors(): { dropped: number[]; lowestCursor: number } {
    const dropped: number[] = [];
    for (const userId of this.#unsaved) {
      const member = this.#members.get(userId);
      if (!member) {
        continue;
      }
      if (member.until !== null && member.cursor >= member.until) {
        this.#stmts.deleteMember(userId);
        this.#members.delete(userId);
        dropped.push(userId);
      } else {
        this.#stmts.saveCursor(userId, member.cursor);
      }
    }
    this.#unsaved.clear();
    let lowestCursor = this.#head;
    for (const member of this.#members.values()) {
      lowestCursor = Math.min(lowestCursor, member.cursor);
    }
    return { dropped, lowestCursor };
  }

  get unsaved(): number {
    return this.#unsaved.size;
  }

  async #work(): Promise<void> {
    this.#workers += 1;
    try {
      for (let userId = this.#queue.shift(); userId !== undefined; userId = this.#queue.shift()) {
        this.#queued.delete(userId);
        await this.deliverTo(userId).catch((err: unknown) => {
          console.warn(`group fan-out to user ${userId} failed; the alarm retries`, err);
          this.#failed = true;
        });
      }
    } finally {
      this.#workers -= 1;
    }
  }

  async #catchUp(userId: number, wantedMsgId?: string): Promise<number | undefined> {
    let wantedSeq: number | undefined;
    for (;;) {
      const member = this.#members.get(userId);
      if (!member) {
        return wantedSeq;
      }
      const limit = member.until ?? this.#head;
      if (member.cursor >= limit) {
        return wantedSeq;
      }
      const rows: LogRow[] = this.#stmts.logRange(member.cursor, limit, this.#options.batchRows);
      const last = rows.at(-1);
      if (!last) {
        return wantedSeq;
      }
      const items = rows.map((row) => ({
        msgId: row.msg_id,
        body: row.body,
        ...(row.sender_id === userId ? { fromDeviceId: row.sender_device_id } : {}),
      }));
      const seqs = await this.#deliver(userId, items);
      const wantedIndex = wantedMsgId ? rows.findIndex((row) => row.msg_id === wantedMsgId) : -1;
      if (wantedIndex >= 0) {
        wantedSeq = seqs[wantedIndex];
      }
      member.cursor = Math.max(member.cursor, last.gseq);
      this.#unsaved.add(userId);
    }
  }
}
