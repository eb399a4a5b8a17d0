/**
 * InboxCursor: the client side of the seq rules in proto/README.md ("The sync/push window",
 * gim #46). It keeps `lastSeq`, syncs from it page by page on every (re)connect, holds pushes
 * that arrive meanwhile, then releases them in seq order; a push past `lastSeq + 1` is a gap and
 * starts a sync. Every persisted message is delivered once, in seq order. No I/O here: the
 * client wires `requestSync` to the socket and feeds replies and pushes back in.
 *
 * Unplaced start. A cursor at seq 0 syncs with seq 0, "after the highest ack of the user's
 * devices"; its pages do not say which seq that is. Until it knows a position it holds
 * everything (sync pages, pushes, own copies) and places itself at the lowest seq held once no
 * own send awaits its reply (the reply to an own send can come after a push with a higher seq).
 * A sync that ends with nothing held places it at the inbox's highest seq (`SyncOutput.last_seq`):
 * every message up to it is read, and the next reconnect syncs from there rather than from the
 * highest ack, which another device may move past messages this one never got.
 * Held messages survive reconnects: a sync from 0 may now start past them, since sending acks the
 * sender's device. Gaps between held seqs are fetched with a sync from the lowest one.
 */
import type { pb } from "../../proto/gen/pb.js";

export interface CursorHooks {
  /** Messages in seq order, each exactly once; transient (seq 0) messages as they come. */
  deliver(messages: pb.Message[]): void;
  /** Sends `SyncInput{seq}`; its reply must come back through `syncPage`. */
  requestSync(seq: number): void;
  /** A sync ran to its last page (and what it held was released, unless still unplaced). */
  synced(lastSeq: number): void;
  /** Own sends waiting for their reply (whose seq may be below the messages already here). */
  sendsInFlight?(): number;
}

export class InboxCursor {
  #lastSeq: number;
  #syncing = false;
  /** Whether `lastSeq` is a position in the inbox (false: at 0, not placed yet). */
  #placed: boolean;
  /** Messages held back: pushes during a sync, or everything while not placed. */
  readonly #held = new Map<number, pb.Message>();
  readonly #hooks: CursorHooks;

  constructor(lastSeq: number, hooks: CursorHooks) {
    this.#lastSeq = lastSeq;
    this.#placed = lastSeq > 0;
    this.#hooks = hooks;
  }

  /** The highest seq delivered. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get syncing(): boolean {
    return this.#syncing;
  }

  /** A connection is up: sync from `lastSeq`, holding pushes until the sync ends. */
  start(): void {
    if (this.#placed) {
      this.#held.clear();
    }
    this.#beginSync();
  }

  /** The connection is gone: its sync is void (the next `start` syncs again). */
  stop(): void {
    this.#syncing = false;
    if (this.#placed) {
      this.#held.clear(); // an unplaced cursor keeps them: the next sync from 0 may start past them
    }
  }

  /** A pushed message (or this device's own send, built from the send reply). */
  push(message: pb.Message): void {
    if (message.seq === 0) {
      this.#hooks.deliver([message]);
    } else if (this.#syncing) {
      this.#held.set(message.seq, message);
    } else if (!this.#placed) {
      this.#held.set(message.seq, message);
      this.settle();
    } else if (message.seq === this.#lastSeq + 1) {
      this.#lastSeq = message.seq;
      this.#hooks.deliver([message]);
    } else if (message.seq > this.#lastSeq) {
      // A missed frame: fetch what lies between from the server.
      this.#held.set(message.seq, message);
      this.#beginSync();
    }
    // seq <= lastSeq: already delivered (a push that raced a sync page)
  }

  /** Call when an own send was answered (or failed): an unplaced cursor may place itself now. */
  settle(): void {
    this.#place(false);
  }

  /**
   * One `SyncOutput` page of the sync in flight; `inboxLastSeq` is its `last_seq`, the inbox's
   * highest seq when the page was read (0 from a server that does not send it).
   */
  syncPage(messages: readonly pb.Message[], hasMore: boolean, inboxLastSeq = 0): void {
    if (!this.#syncing) {
      return;
    }
    if (!this.#placed) {
      messages.forEach((m) => this.#held.set(m.seq, m));
      const last = messages.at(-1)?.seq ?? 0;
      if (hasMore && last > 0) {
        this.#hooks.requestSync(last);
        return;
      }
      this.#syncing = false;
      if (!this.#place(true) && !this.#placeAtInboxEnd(inboxLastSeq)) {
        this.#hooks.synced(this.#lastSeq); // connected, but nothing to place on yet
      }
      return;
    }
    const fresh: pb.Message[] = [];
    for (const message of messages) {
      // A sync page is the server's truth: a seq it skips no longer exists there.
      if (message.seq > this.#lastSeq) {
        this.#lastSeq = message.seq;
        fresh.push(message);
      }
    }
    if (fresh.length > 0) {
      this.#hooks.deliver(fresh);
    }
    if (hasMore && messages.length > 0) {
      this.#hooks.requestSync(this.#lastSeq);
      return;
    }
    this.#syncing = false;
    this.#release(true);
  }

  /** Places an unplaced cursor just below the lowest seq held, when that is safe; true if it did. */
  #place(announce: boolean): boolean {
    if (this.#placed || this.#syncing || this.#held.size === 0) {
      return false;
    }
    const lowest = Math.min(...this.#held.keys());
    if (lowest !== 1 && (this.#hooks.sendsInFlight?.() ?? 0) > 0) {
      return false; // a reply below `lowest` may still come (nothing lies below seq 1)
    }
    this.#placed = true;
    this.#lastSeq = lowest - 1;
    this.#release(announce);
    return true;
  }

  /**
   * Places an unplaced cursor that holds nothing at the inbox's highest seq, after a sync from 0
   * found nothing past the highest ack. Not while an own send awaits its reply: its seq may be
   * at or below that seq and never reach this device otherwise (sending acks it).
   */
  #placeAtInboxEnd(inboxLastSeq: number): boolean {
    if (this.#placed || this.#held.size > 0 || inboxLastSeq <= 0 || (this.#hooks.sendsInFlight?.() ?? 0) > 0) {
      return false;
    }
    this.#placed = true;
    this.#lastSeq = inboxLastSeq;
    this.#hooks.synced(this.#lastSeq);
    return true;
  }

  #beginSync(): void {
    this.#syncing = true;
    this.#hooks.requestSync(this.#lastSeq);
  }

  /** Releases held messages in seq order; stops at a gap and syncs again (from a real seq). */
  #release(announce: boolean): void {
    const seqs = [...this.#held.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      if (seq <= this.#lastSeq) {
        this.#held.delete(seq);
        continue;
      }
      if (seq !== this.#lastSeq + 1) {
        this.#beginSync();
        return;
      }
      const message = this.#held.get(seq) as pb.Message;
      this.#held.delete(seq);
      this.#lastSeq = seq;
      this.#hooks.deliver([message]);
    }
    if (announce) {
      this.#hooks.synced(this.#lastSeq);
    }
  }
}
