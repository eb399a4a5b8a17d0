/**
 * The replay seam of one subscriber: while its replay is fetched, live room messages wait; then
 * the replay and the waiting messages go out once each, replay first (no gap, no duplicate).
 */

export interface RoomItem {
  /** Room seq; 0 for a message that is not kept (is_persist=false). */
  seq: number;
  /** Encoded pb.Message with its room seq. */
  body: Uint8Array;
}

export class CatchUp {
  readonly #waiting: RoomItem[] = [];

  /** Holds a live item until the replay is in. */
  hold(item: RoomItem): void {
    this.#waiting.push(item);
  }

  /** The items to send now: the replay, then the held items it does not already contain. */
  finish(replay: readonly RoomItem[]): RoomItem[] {
    const replayed = new Set(replay.map((item) => item.seq));
    return [...replay, ...this.#waiting.filter((item) => item.seq === 0 || !replayed.has(item.seq))];
  }
}
