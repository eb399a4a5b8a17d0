/**
 * The replay seam of one subscriber. While its replay is fetched, live room messages wait; then
 * the replay goes out, followed by the waiting messages it does not already carry. Live messages
 * stored before the replay was read can still be on their way to this subscriber after that, so
 * until they have passed, live messages at or below the replay's last seq are dropped: no gap and
 * no duplicate at the seam.
 */

export interface RoomItem {
  /** Room seq; 0 for a message that is not kept (is_persist=false). */
  seq: number;
  /** Encoded pb.Message with its room seq. */
  body: Uint8Array;
}

export class CatchUp {
  #waiting: RoomItem[] | null = [];
  #coveredUpTo: number;

  /** `fromSeq`: the first seq the subscriber asked for; older live messages are not for it. */
  constructor(fromSeq: number) {
    this.#coveredUpTo = fromSeq - 1;
  }

  /** The part of a live batch to send now: nothing while the replay is fetched (it waits). */
  offer(items: readonly RoomItem[]): RoomItem[] {
    if (this.#waiting) {
      this.#waiting.push(...items);
      return [];
    }
    return items.filter((item) => this.#isNew(item));
  }

  /** The items to send once the replay is in: the replay, then the waiting items it lacks. */
  finish(replay: readonly RoomItem[]): RoomItem[] {
    for (const item of replay) {
      this.#coveredUpTo = Math.max(this.#coveredUpTo, item.seq);
    }
    const waiting = this.#waiting ?? [];
    this.#waiting = null;
    return [...replay, ...waiting.filter((item) => this.#isNew(item))];
  }

  /** True once a live batch shows the seam has passed, so the filter can go. */
  passed(items: readonly RoomItem[]): boolean {
    return this.#waiting === null && items.length > 0 && items.every((item) => item.seq === 0 || item.seq > this.#coveredUpTo);
  }

  #isNew(item: RoomItem): boolean {
    return item.seq === 0 || item.seq > this.#coveredUpTo;
  }
}

/**
 * Writes a live batch to a set of sockets: the ones at a replay seam through their CatchUp, the
 * rest together (encoded once). Forgets a CatchUp once its seam has passed.
 */
export function offerBatch(
  sockets: WebSocket[],
  catchUps: Map<WebSocket, CatchUp>,
  items: readonly RoomItem[],
  push: (sockets: WebSocket[], items: readonly RoomItem[]) => void,
): void {
  if (catchUps.size === 0) {
    push(sockets, items);
    return;
  }
  const plain: WebSocket[] = [];
  for (const ws of sockets) {
    const catchUp = catchUps.get(ws);
    if (!catchUp) {
      plain.push(ws);
      continue;
    }
    const mine = catchUp.offer(items);
    if (mine.length > 0) {
      push([ws], mine);
    }
    if (catchUp.passed(items)) {
      catchUps.delete(ws);
    }
  }
  push(plain, items);
}
