/**
 * Where the client keeps its last inbox seq between runs. The seq space belongs to the user (all
 * devices of a user share one inbox), so stores are keyed by user id.
 */

export interface SeqStore {
  /** The last seq stored for `userId`, or 0. */
  load(userId: number): number | Promise<number>;
  save(userId: number, seq: number): void | Promise<void>;
}

/** Keeps the seq in memory: a new process starts from 0 (the server's "after the highest ack"). */
export class MemorySeqStore implements SeqStore {
  readonly #seqs = new Map<number, number>();

  load(userId: number): number {
    return this.#seqs.get(userId) ?? 0;
  }

  save(userId: number, seq: number): void {
    this.#seqs.set(userId, seq);
  }
}

/** The subset of the Web Storage API the store uses (localStorage, sessionStorage). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Keeps the seq in Web Storage under `${prefix}${userId}`; survives reloads. */
export class WebStorageSeqStore implements SeqStore {
  constructor(
    readonly storage: KeyValueStorage,
    readonly prefix = "gim:lastSeq:",
  ) {}

  load(userId: number): number {
    const seq = Number(this.storage.getItem(this.prefix + userId) ?? 0);
    return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  }

  save(userId: number, seq: number): void {
    try {
      this.storage.setItem(this.prefix + userId, String(seq));
    } catch {
      // storage full or disabled (private mode): the seq stays in memory for this run
    }
  }
}

/** localStorage in browsers, memory elsewhere. */
export function defaultSeqStore(): SeqStore {
  let storage: KeyValueStorage | undefined;
  try {
    storage = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
  } catch {
    // reading localStorage throws where storage is blocked (sandboxed frames, some privacy modes)
  }
  return storage ? new WebStorageSeqStore(storage) : new MemorySeqStore();
}
