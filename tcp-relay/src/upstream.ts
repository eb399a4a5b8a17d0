/**
 * One WebSocket to the Worker (a user socket on /ws or a room socket on /room): opening with a
 * timeout, the refused-upgrade body, send accounting for backpressure, and the cheap text
 * "ping" keepalive the Durable Objects answer without waking.
 */
import WebSocket from "ws";

/** The Connect error body the Worker answers a refused upgrade with. */
export interface RefusalBody {
  code?: string;
  message?: string;
  gimCode?: number;
}

export interface UpstreamEvents {
  open(): void;
  /** The upgrade was answered with an HTTP status other than 101. */
  refused(status: number, body: RefusalBody | null): void;
  /** The connection failed before it opened (refused, reset, timed out). */
  failed(err: Error): void;
  message(data: Buffer, isBinary: boolean): void;
  /** Closed after it had opened. */
  closed(code: number, reason: string): void;
  /** Sends queued for the Worker fell back under the low-water mark. */
  drain(): void;
}

const REFUSAL_BODY_MAX_BYTES = 4096;
/** Bytes queued towards the Worker above which the client's reading is paused. */
export const UPSTREAM_HIGH_WATER_BYTES = 256 * 1024;
const UPSTREAM_LOW_WATER_BYTES = 64 * 1024;

export interface UpstreamOptions {
  connectTimeoutMs: number;
  maxPayloadBytes: number;
  headers?: Record<string, string>;
}

export class Upstream {
  lastSendAt = Date.now();
  lastRecvAt = Date.now();
  /** When the last unanswered keepalive ping went out (0 = none outstanding). */
  pingSentAt = 0;
  paused = false;
  readonly #ws: WebSocket;
  readonly #events: UpstreamEvents;
  #opened = false;
  #settled = false;
  #queuedBytes = 0;
  #congested = false;

  constructor(url: string, options: UpstreamOptions, events: UpstreamEvents) {
    this.#events = events;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: options.connectTimeoutMs,
      maxPayload: options.maxPayloadBytes,
      followRedirects: false,
      headers: options.headers,
    });
    this.#ws = ws;
    ws.on("open", () => {
      this.#opened = true;
      this.#settled = true;
      this.lastRecvAt = Date.now();
      events.open();
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body = body.length < REFUSAL_BODY_MAX_BYTES ? body + chunk : body;
      });
      const settle = () => {
        if (!this.#settled) {
          this.#settled = true;
          events.refused(res.statusCode ?? 0, parseRefusal(body));
          ws.terminate();
        }
      };
      res.on("end", settle);
      res.on("error", settle);
    });
    ws.on("error", (err) => {
      if (!this.#settled) {
        this.#settled = true;
        events.failed(err);
      }
    });
    ws.on("close", (code, reason) => {
      if (this.#opened) {
        this.#opened = false;
        events.closed(code, reason.toString());
      } else if (!this.#settled) {
        this.#settled = true;
        events.failed(new Error(`closed before it opened (${code})`));
      }
    });
    ws.on("message", (data: Buffer, isBinary) => {
      this.lastRecvAt = Date.now();
      this.pingSentAt = 0;
      events.message(data, isBinary);
    });
  }

  /** More than UPSTREAM_HIGH_WATER_BYTES wait for the Worker (until the drain event). */
  get congested(): boolean {
    return this.#congested;
  }

  get isOpen(): boolean {
    return this.#opened && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends one frame; false when the Worker is not reading fast enough (pause the client). */
  send(data: Uint8Array | string): boolean {
    if (!this.isOpen) {
      return true;
    }
    const bytes = typeof data === "string" ? data.length : data.length;
    this.#queuedBytes += bytes;
    this.lastSendAt = Date.now();
    this.#ws.send(data, { binary: typeof data !== "string" }, () => {
      this.#queuedBytes -= bytes;
      if (this.#congested && this.#queuedBytes <= UPSTREAM_LOW_WATER_BYTES) {
        this.#congested = false;
        this.#events.drain();
      }
    });
    if (this.#queuedBytes > UPSTREAM_HIGH_WATER_BYTES) {
      this.#congested = true;
      return false;
    }
    return true;
  }

  /**
   * Sends the keepalive ping when nothing was sent for `intervalMs`. Returns false when the
   * previous ping went unanswered for a whole interval (and nothing else came): the upstream is
   * dead. A paused socket is not judged (its pong may wait unread).
   */
  keepAlive(now: number, intervalMs: number): boolean {
    if (!this.isOpen) {
      return true;
    }
    if (this.pingSentAt > 0 && !this.paused && now - this.pingSentAt >= intervalMs) {
      return false;
    }
    if (now - this.lastSendAt >= intervalMs) {
      this.send("ping");
      this.pingSentAt ||= now;
    }
    return true;
  }

  pause(): void {
    this.paused = true;
    this.#ws.pause();
  }

  resume(): void {
    this.paused = false;
    this.#ws.resume();
  }

  /** Closes (or aborts an opening); events stop. */
  close(code: number, reason: string): void {
    this.#settled = true;
    this.#opened = false;
    if (this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.terminate();
    } else if (this.#ws.readyState === WebSocket.OPEN) {
      this.#ws.close(code, reason);
    }
  }
}

function parseRefusal(body: string): RefusalBody | null {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === "object") {
      const { code, message, gimCode } = parsed as Record<string, unknown>;
      return {
        ...(typeof code === "string" ? { code } : {}),
        ...(typeof message === "string" ? { message } : {}),
        ...(typeof gimCode === "number" ? { gimCode } : {}),
      };
    }
  } catch {
    // not JSON: the status alone is reported
  }
  return null;
}
