/**
 * Client connections as the session sees them: a TCP socket with gim framing, or a WebSocket
 * with one envelope per binary message. Both report frames, congestion and departure the same
 * way, so one Session class bridges either.
 */
import type { Socket } from "node:net";
import WebSocket from "ws";
import { clampReason } from "./codes";
import { closeNotice } from "./envelope";
import { canFrame, encodeFrame, FrameDecoder, FrameError, type Framing } from "./framing";
import type { ListenerName } from "./metrics";

export interface LinkHandlers {
  /** One whole envelope from the client. */
  frame(body: Buffer): void;
  /** Something other than an envelope that still counts as client activity (a WS text "ping"). */
  activity(): void;
  /** A frame that cannot be accepted (oversized, bad length prefix, text message). */
  invalid(err: FrameError | Error): void;
  /** The client can take more data again. */
  drain(): void;
  /** The connection is gone (closed by either side or broken). */
  gone(): void;
}

export interface ClientLink {
  readonly listener: ListenerName;
  readonly remoteAddress: string;
  handlers: LinkHandlers | null;
  /** Bytes accepted for the client but not yet handed to the kernel. */
  readonly buffered: number;
  /** When the unfinished frame now held began arriving; 0 if none. */
  readonly partialSince: number;
  /** Whether an envelope of `length` bytes can be framed for this client. */
  canSend(length: number): boolean;
  /** Queues one envelope; false once more than SLOW_CONSUMER_BYTES wait (then wait for drain). */
  send(body: Uint8Array): boolean;
  pause(): void;
  resume(): void;
  /** Sends the close notice (TCP) or close frame (WS), then ends; later frames are discarded. */
  close(code: number, reason: string): void;
  destroy(): void;
}

/** gim TCP: length-prefixed envelopes. */
export class TcpLink implements ClientLink {
  readonly listener = "tcp";
  readonly remoteAddress: string;
  handlers: LinkHandlers | null = null;
  partialSince = 0;
  readonly #decoder: FrameDecoder;
  #ending = false;
  #corked = false;

  constructor(
    readonly socket: Socket,
    readonly framing: Framing,
    maxFrameBytes: number,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "";
    this.#decoder = new FrameDecoder(framing, maxFrameBytes);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.handlers?.drain());
    socket.on("error", () => {
      // 'close' follows and reports the departure
    });
    socket.on("close", () => this.handlers?.gone());
  }

  get buffered(): number {
    return this.socket.writableLength;
  }

  canSend(length: number): boolean {
    return canFrame(this.framing, length);
  }

  send(body: Uint8Array): boolean {
    if (this.socket.destroyed || this.#ending) {
      return true;
    }
    // Frames written in one turn of the event loop (a burst read from the upstream in one
    // chunk: a sync page after pushes, a room replay) leave in one writev instead of one
    // syscall each.
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(this.#uncork);
    }
    return this.socket.write(encodeFrame(this.framing, body));
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.#ending) {
      this.socket.resume();
    }
  }

  close(code: number, reason: string): void {
    if (this.#ending || this.socket.destroyed) {
      return;
    }
    this.socket.write(encodeFrame(this.framing, closeNotice(code, clampReason(reason))));
    this.#ending = true;
    this.partialSince = 0;
    this.socket.end();
    // Keep reading (and discarding) so the client's FIN arrives and the socket closes promptly.
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#ending) {
      return;
    }
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.handlers?.invalid(err as FrameError);
      return;
    }
    if (this.#decoder.pendingBytes === 0) {
      this.partialSince = 0;
    } else if (frames.length > 0 || this.partialSince === 0) {
      this.partialSince = Date.now();
    }
    for (const frame of frames) {
      if (this.#ending) {
        return;
      }
      this.handlers?.frame(frame);
    }
  }
}


/** gim web clients: one binary envelope per WebSocket message; text "ping" is answered "pong". */
export class WsLink implements ClientLink {
  readonly listener = "ws";
  readonly partialSince = 0;
  handlers: LinkHandlers | null = null;
  #queued = 0;
  #congested = false;
  #ending = false;

  /**
   * @param highWaterBytes queued bytes above which the client counts as congested; it counts as
   * drained again under a quarter of it.
   */
  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string,
    readonly maxFrameBytes: number,
    readonly highWaterBytes: number,
  ) {
    ws.on("message", (data: Buffer, isBinary) => this.#onMessage(data, isBinary));
    ws.on("error", () => {
      // 'close' follows (ws closes with 1002/1009 on protocol errors)
    });
    ws.on("close", () => this.handlers?.gone());
  }

  get buffered(): number {
    return this.#queued;
  }

  canSend(): boolean {
    return true;
  }

  send(body: Uint8Array): boolean {
    if (this.#ending || this.ws.readyState !== WebSocket.OPEN) {
      return true;
    }
    const bytes = body.length;
    this.#queued += bytes;
    this.ws.send(body, { binary: true }, () => {
      this.#queued -= bytes;
      if (this.#congested && this.#queued <= this.highWaterBytes / 4) {
        this.#congested = false;
        this.handlers?.drain();
      }
    });
    if (this.#queued > this.highWaterBytes) {
      this.#congested = true;
      return false;
    }
    return true;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (!this.#ending) {
      this.ws.resume();
    }
  }

  close(code: number, reason: string): void {
    if (this.#ending) {
      return;
    }
    this.#ending = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, clampReason(reason));
    }
    this.ws.resume();
  }

  destroy(): void {
    this.ws.terminate();
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#ending) {
      return;
    }
    if (!isBinary) {
      if (data.length === 4 && data.toString() === "ping") {
        this.handlers?.activity();
        this.ws.send("pong");
        return;
      }
      this.handlers?.invalid(new Error("text frames are not accepted: send binary pb.Input frames (text \"ping\" is answered \"pong\")"));
      return;
    }
    if (data.length > this.maxFrameBytes) {
      this.handlers?.invalid(new FrameError("too-large", data.length, `frame of ${data.length} bytes is over the ${this.maxFrameBytes}-byte limit`));
      return;
    }
    this.handlers?.frame(data);
  }
}
