/**
 * What a group may delete once its cursors are saved: the log up to the lowest member cursor
 * (its last row stays: it holds the group's seq), and send records (retry dedup) older than
 * GROUP_DEDUP_MESSAGES group messages.
 */
import type { Statements } from "./statements";

export class GroupPruning {
  readonly #dedupMessages: number;
  /** The group seq the send records were last pruned at (none yet since the object started). */
  #sentPrunedAt = -Infinity;

  constructor(env: { GROUP_DEDUP_MESSAGES?: string }) {
    this.#dedupMessages = Number(env.GROUP_DEDUP_MESSAGES ?? 100_000);
  }

  /** Call inside the transaction that saves the cursors. */
  prune(stmts: Statements, lowestCursor: number): void {
    stmts.pruneLog(lowestCursor);
    // The send records have no index by seq: prune them a tenth of the window at a time.
    if (lowestCursor - this.#sentPrunedAt >= this.#dedupMessages / 10) {
      stmts.pruneSent(lowestCursor - this.#dedupMessages);
      this.#sentPrunedAt = lowestCursor;
    }
  }
}
