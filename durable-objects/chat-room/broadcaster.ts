/**
 * Room broadcast from the root to its targets (shards and user inboxes). Each target has its own
 * queue and one delivery in flight, so a slow or dead target delays nobody else; priority items
 * go ahead of the normal items still queued; a target too far behind is dropped.
 */
import type { RoomItem } from "./catch-up";

const SEND_ATTEMPTS = 3;

export type SendFn = (targetKey: string, items: RoomItem[]) => Promise<number>;

export interface BroadcastOptions {
  /** Items per delivery call. */
  batchItems: number;
  /** A target with more items waiting than this is dropped (see onDropped). */
  maxBacklog: number;
}

interface TargetQueue {
  priority: RoomItem[];
  normal: RoomItem[];
  running: boolean;
}

export class Broadcaster {
  readonly #queues = new Map<string, TargetQueue>();
  readonly #send: SendFn;
  readonly #options: BroadcastOptions;
  /** Called with the subscriber count a target reports after each delivery. */
  readonly #onCount: (targetKey: string, subscribers: number) => void;
  /**
   * Called when a target is dropped: too far behind, or every attempt of a delivery failed. Its
   * subscribers have missed messages and must subscribe again (replaying from their last seq).
   */
  readonly #onDropped: (targetKey: string) => void;

  constructor(
    send: SendFn,
    options: BroadcastOptions,
    onCount: (targetKey: string, subscribers: number) => void,
    onDropped: (targetKey: string) => void,
  ) {
    this.#send = send;
    this.#options = options;
    this.#onCount = onCount;
    this.#onDropped = onDropped;
  }

  /** Queues `item` for every target in `targetKeys`. */
  publish(targetKeys: Iterable<string>, item: RoomItem, priority: boolean): void {
    for (const key of targetKeys) {
      let queue = this.#queues.get(key);
      if (!queue) {
        queue = { priority: [], normal: [], running: false };
        this.#queues.set(key, queue);
      }
      (priority ? queue.priority : queue.normal).push(item);
      if (queue.priority.length + queue.normal.length > this.#options.maxBacklog) {
        console.warn(`room broadcast: ${key} is ${this.#options.maxBacklog} items behind, dropping it`);
        this.#queues.delete(key);
        this.#onDropped(key);
        continue;
      }
      if (!queue.running) {
        void this.#run(key, queue);
      }
    }
  }

  /** Resolves the target's subscriber count, or null when it failed every attempt. */
  async #sendWithRetry(key: string, batch: RoomItem[]): Promise<number | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#send(key, batch);
      } catch (err) {
        if (attempt >= SEND_ATTEMPTS) {
          console.warn(`room broadcast: delivery to ${key} failed ${attempt} times; dropping it`, err);
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  async #run(key: string, queue: TargetQueue): Promise<void> {
    queue.running = true;
    try {
      while (this.#queues.get(key) === queue && queue.priority.length + queue.normal.length > 0) {
        const batch = queue.priority.splice(0, this.#options.batchItems);
        batch.push(...queue.normal.splice(0, this.#options.batchItems - batch.length));
        const subscribers = await this.#sendWithRetry(key, batch);
        if (subscribers === null) {
          this.#queues.delete(key);
          this.#onDropped(key);
        } else {
          this.#onCount(key, subscribers);
        }
      }
    } finally {
      queue.running = false;
    }
  }
}
