/**
 * Connection: one transport session. Numbers requests and matches replies by request id (each
 * with a timeout), hands pushes on, and runs the heartbeat that notices a dead peer.
 */
import { pb } from "../../proto/gen/pb.js";
import { ClientErrorCode, GimError } from "./errors";
import type { Session } from "./http";
import type { Connector, Transport } from "./transport";

export interface ConnectionOptions {
  /** How often to send a heartbeat. */
  heartbeatMs: number;
  /** A connection that received nothing for heartbeatMs + this is closed as dead. */
  heartbeatTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface ConnectionEvents {
  open(): void;
  /** An Output that answers no request: a push (PT_MESSAGE) or a server notice. */
  unsolicited(output: pb.Output): void;
  /** Once; `opened` tells whether the transport had opened. */
  close(code: number, reason: string, opened: boolean): void;
}

/** Close codes the client uses itself (4000-4499: "reconnect"). */
export const LocalClose = {
  NORMAL: 1000,
  DEAD: 4000,
} as const;

interface Pending {
  resolve(output: pb.Output): void;
  reject(err: GimError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Connection {
  readonly #transport: Transport;
  readonly #connector: Connector;
  readonly #options: ConnectionOptions;
  readonly #events: ConnectionEvents;
  readonly #pending = new Map<number, Pending>();
  #nextRequestId = 1;
  #opened = false;
  #closed = false;
  #lastInboundAt = Date.now();
  /** A close notice received before the transport closed (stream transports have no close codes). */
  #notice: { code: number; reason: string } | null = null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(connector: Connector, session: Session, options: ConnectionOptions, events: ConnectionEvents) {
    this.#connector = connector;
    this.#options = options;
    this.#events = events;
    this.#transport = connector.open(session, {
      open: () => this.#onOpen(),
      frame: (data) => this.#onFrame(data),
      close: (code, reason) => this.#onClose(code, reason),
    });
  }

  get open(): boolean {
    return this.#opened && !this.#closed;
  }

  /**
   * Sends a packet and resolves its reply.
   * @throws GimError: the reply's code, DEADLINE_EXCEEDED, or CANCELLED when the connection closes
   */
  request(type: pb.PackageType, data: Uint8Array = new Uint8Array(0)): Promise<pb.Output> {
    if (!this.open) {
      return Promise.reject(new GimError(ClientErrorCode.CANCELLED, "not connected"));
    }
    const requestId = this.#nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new GimError(ClientErrorCode.DEADLINE_EXCEEDED, `${pb.PackageType[type]}: no reply within ${this.#options.requestTimeoutMs} ms`));
      }, this.#options.requestTimeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer });
      this.#transport.send(pb.Input.encode({ type, requestId, data }).finish());
    });
  }

  /** Sends a packet that has no reply (PT_MESSAGE acks). */
  notify(type: pb.PackageType, data: Uint8Array): void {
    if (this.open) {
      this.#transport.send(pb.Input.encode({ type, requestId: 0, data }).finish());
    }
  }

  close(code: number, reason: string): void {
    this.#transport.close(code, reason);
  }

  #onOpen(): void {
    this.#opened = true;
    this.#lastInboundAt = Date.now();
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs);
    this.#events.open();
  }

  #beat(): void {
    if (Date.now() - this.#lastInboundAt > this.#options.heartbeatMs + this.#options.heartbeatTimeoutMs) {
      this.close(LocalClose.DEAD, "no answer to heartbeats");
    } else if (this.#connector.textPing) {
      this.#transport.send("ping");
    } else {
      // Answered by the server; the reply's request id is matched and dropped like any other.
      this.request(pb.PackageType.PT_HEARTBEAT).catch(() => undefined);
    }
  }

  #onFrame(data: Uint8Array | string): void {
    this.#lastInboundAt = Date.now();
    if (typeof data === "string") {
      return; // "pong"; this client speaks binary, so no other text frames come
    }
    let output: pb.Output;
    try {
      output = pb.Output.decode(data);
    } catch {
      return; // not an Output: nothing to match it with
    }
    if (isCloseNotice(output)) {
      this.#notice = { code: output.code, reason: output.message };
      return;
    }
    const pending = output.requestId !== 0 ? this.#pending.get(output.requestId) : undefined;
    if (!pending) {
      this.#events.unsolicited(output);
      return;
    }
    this.#pending.delete(output.requestId);
    clearTimeout(pending.timer);
    if (output.code === 0) {
      pending.resolve(output);
    } else {
      pending.reject(new GimError(output.code, output.message || `${pb.PackageType[output.type]} failed with code ${output.code}`));
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) {
      return;
    }
    if (this.#notice && (code === 1005 || code === 1006)) {
      ({ code, reason } = this.#notice);
    }
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new GimError(ClientErrorCode.CANCELLED, `connection closed (${code})`));
    }
    this.#pending.clear();
    this.#events.close(code, reason, this.#opened);
  }
}

/**
 * The last frame of a connection a relay closes: `Output{type: PT_UNKNOWN, request_id: 0, code}`
 * with a close code (1000, 4000-4999), which never collides with error codes (below 1000 or
 * 10000 and up). TCP has no close frame, so this carries 4500/4501 to the client.
 */
function isCloseNotice(output: pb.Output): boolean {
  return output.type === pb.PackageType.PT_UNKNOWN && output.requestId === 0 && (output.code === 1000 || (output.code >= 4000 && output.code <= 4999));
}

