/** Offline sync pages, built from stored message bytes without decoding them. */
import type { Limits } from "../shared/limits";
import { framedLength, syncOutputBytes } from "./message-bytes";
import type { Statements } from "./statements";

/**
 * An encoded pb.SyncOutput of the messages after seq `from`: at most `limit` (default
 * SYNC_PAGE_LIMIT, capped at SYNC_PAGE_MAX) and SYNC_REPLY_MAX_BYTES, at least one; with the
 * inbox's `lastSeq`, so a client that got nothing still learns where the inbox stands.
 */
export function syncPage(stmts: Statements, limits: Limits, from: number, limit: number, lastSeq: number): Uint8Array {
  const pageSize = Math.min(Math.max(limit > 0 ? limit : limits.SYNC_PAGE_LIMIT, 1), limits.SYNC_PAGE_MAX);
  const rows = stmts.messagesAfter(from, pageSize + 1);
  const bodies: ArrayBuffer[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, pageSize)) {
    bytes += framedLength(row.body);
    if (bodies.length > 0 && bytes > limits.SYNC_REPLY_MAX_BYTES) {
      break;
    }
    bodies.push(row.body);
  }
  return syncOutputBytes(bodies, rows.length > bodies.length, lastSeq);
}
