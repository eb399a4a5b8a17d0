/**
 * The room socket of one client connection (gim's PT_SUBSCRIBE_ROOM over TCP): at most one room
 * at a time, each on its own upstream WebSocket to GET /room, which the Worker attaches to the
 * room's shard objects. Switching closes the old socket and opens the new one in one step.
 */
import { clientCloseFor, RelayError } from "./codes";
import { codeForStatus, type RelayContext } from "./context";
import { PT, type pb } from "./envelope";
import { Upstream } from "./upstream";

export interface Credentials {
  userId: number;
  deviceId: number;
  token: string;
}

export interface RoomSink {
  /** Answers the client (subscribe replies and room notices). */
  reply(output: pb.IOutput): void;
  /** Forwards a pushed envelope from the room socket, unchanged. */
  forward(data: Buffer): void;
  /** Whether upstream reading is paused for a slow client (a new room socket starts paused). */
  isPaused(): boolean;
}

interface Subscription {
  roomId: number;
  requestId: number;
  replied: boolean;
  upstream: Upstream;
}

export class RoomLink {
  #current: Subscription | null = null;

  constructor(
    readonly ctx: RelayContext,
    readonly credentials: Credentials,
    readonly sink: RoomSink,
    readonly headers: Record<string, string>,
  ) {}

  get upstream(): Upstream | null {
    return this.#current?.upstream ?? null;
  }

  /** Subscribes to `roomId` (0 = leave) replaying from `seq` (0 = none); the reply carries `requestId`. */
  subscribe(roomId: number, seq: number, requestId: number): void {
    this.#leave("left for another room");
    if (roomId === 0) {
      this.sink.reply({ type: PT.PT_SUBSCRIBE_ROOM, requestId });
      return;
    }
    const { userId, deviceId, token } = this.credentials;
    const query = new URLSearchParams({ room_id: String(roomId), seq: String(seq), user_id: String(userId), device_id: String(deviceId), token });
    const url = `${this.ctx.upstreamBase}/room?${query}`;
    const sub: Subscription = { roomId, requestId, replied: false, upstream: null as unknown as Upstream };
    sub.upstream = new Upstream(url, { ...this.ctx.upstreamOptions, headers: this.headers }, {
      open: () => {
        sub.replied = true;
        this.sink.reply({ type: PT.PT_SUBSCRIBE_ROOM, requestId });
        if (this.sink.isPaused()) {
          sub.upstream.pause();
        }
      },
      refused: (status, body) => this.#failed(sub, body?.gimCode ?? codeForStatus(status), body?.message ?? `room socket refused: HTTP ${status}`),
      failed: (err) => this.#failed(sub, RelayError.UNAVAILABLE, `room socket failed: ${err.message}`),
      message: (data, isBinary) => {
        if (isBinary && this.#current === sub) {
          this.sink.forward(data);
        }
      },
      closed: (code, reason) => {
        if (this.#current === sub) {
          this.#current = null;
          const message = `room ${roomId} closed (${code})${reason ? `: ${reason}` : ""}; subscribe again`;
          this.sink.reply({ type: PT.PT_SUBSCRIBE_ROOM, requestId: 0, code: clientCloseFor(code), message });
        }
      },
      drain: () => {},
    });
    this.#current = sub;
  }

  /** Closes the room socket (the client left or the connection ends). */
  close(reason: string): void {
    this.#leave(reason);
  }

  #leave(reason: string): void {
    const old = this.#current;
    if (!old) {
      return;
    }
    this.#current = null;
    if (!old.replied) {
      this.sink.reply({ type: PT.PT_SUBSCRIBE_ROOM, requestId: old.requestId, code: RelayError.CANCELLED, message: "superseded by a later PT_SUBSCRIBE_ROOM" });
    }
    old.upstream.close(1000, reason);
  }

  #failed(sub: Subscription, code: number, message: string): void {
    if (this.#current !== sub) {
      return;
    }
    this.#current = null;
    this.ctx.log.debug("room socket refused", { roomId: sub.roomId, code, message });
    this.sink.reply({ type: PT.PT_SUBSCRIBE_ROOM, requestId: sub.requestId, code, message });
  }
}
