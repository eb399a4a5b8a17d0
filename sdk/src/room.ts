/**
 * The room a connection is subscribed to (gim: one per connection). Room messages carry the
 * room's own seq. Every (re)subscription asks for a replay from the seq after the last one
 * delivered, so a reconnect within the room's replay window misses nothing; kept messages
 * (seq > 0) are delivered once each, unkept ones (seq 0) always pass.
 */
import { pb } from "../../proto/gen/pb.js";

export interface JoinRoomOptions {
  /** Replay the room's kept messages from this room seq (1 = all kept); default: from now on. */
  fromSeq?: number;
}

export class RoomSubscription {
  /** The highest room seq delivered (or the room's seq when it was joined). */
  #lastSeq: number;

  constructor(
    readonly roomId: number,
    lastSeq: number,
  ) {
    this.#lastSeq = lastSeq;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The SubscribeRoomInput of a (re)subscription. */
  subscribeInput(): Uint8Array {
    return pb.SubscribeRoomInput.encode({ roomId: this.roomId, seq: this.#lastSeq + 1 }).finish();
  }

  /** Whether to deliver a room message (and remember its seq). */
  accept(message: pb.Message): boolean {
    if (message.receiverId !== this.roomId) {
      return false;
    }
    if (message.seq === 0) {
      return true;
    }
    if (message.seq <= this.#lastSeq) {
      return false;
    }
    this.#lastSeq = message.seq;
    return true;
  }
}
