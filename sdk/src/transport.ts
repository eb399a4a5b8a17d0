/**
 * Transports carry whole envelopes (`pb.Input` out, `pb.Output` in) between the client and the
 * server. The WebSocket one is built in; the CLI adds one for the TCP relay. A transport reports
 * `close` exactly once, also when the client closes it.
 */
import type { Session } from "./http";

export interface TransportHandlers {
  open(): void;
  frame(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
}

export interface Transport {
  send(data: Uint8Array | string): void;
  /** Closes and reports `close(code, reason)` at once, without waiting for the peer. */
  close(code: number, reason: string): void;
}

export interface Connector {
  /** A name for logs and the state event: "websocket", "tcp". */
  readonly kind: string;
  /** The text frame `ping` is answered `pong` (WebSocket); otherwise PT_HEARTBEAT is used. */
  readonly textPing: boolean;
  /** The server expects PT_SIGN_IN as the first packet (gim's TCP framing through the relay). */
  readonly signInFirst: boolean;
  open(session: Session, handlers: TransportHandlers): Transport;
}

/** What the client uses of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketConnectorOptions {
  /** `http(s)://host:port` of the Worker; the socket goes to `ws(s)://host:port/ws`. */
  baseUrl: string;
  /** Defaults to the global WebSocket (browsers, Node 22+); pass the `ws` package on Node 20. */
  WebSocket?: WebSocketConstructor;
}

/** The direct WebSocket to the user's inbox: `GET /ws?user_id=…&device_id=…&token=…`. */
export function webSocketConnector(options: WebSocketConnectorOptions): Connector {
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Socket) {
    throw new Error("no WebSocket in this runtime: pass options.WebSocket (the `ws` package on Node 20)");
  }
  const base = options.baseUrl.replace(/\/+$/, "").replace(/^http/, "ws");
  return {
    kind: "websocket",
    textPing: true,
    signInFirst: false,
    open(session, handlers) {
      const query = `user_id=${session.userId}&device_id=${session.deviceId}&token=${encodeURIComponent(session.token)}`;
      const ws = new Socket(`${base}/ws?${query}`);
      ws.binaryType = "arraybuffer";
      let done = false;
      const finish = (code: number, reason: string) => {
        if (!done) {
          done = true;
          // Listeners become no-ops rather than null: `ws` throws on an error nobody listens to.
          ws.onopen = ws.onmessage = ws.onclose = ws.onerror = () => undefined;
          handlers.close(code, reason);
        }
      };
      ws.onopen = () => handlers.open();
      ws.onmessage = (event) => {
        const data = event.data;
        handlers.frame(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
      };
      ws.onclose = (event) => finish(event.code, event.reason);
      // An error is followed by close in browsers and in `ws`; the close carries the code.
      ws.onerror = () => undefined;
      return {
        send: (data) => ws.send(data),
        close(code, reason) {
          try {
            ws.close(code, reason);
          } catch {
            // not open yet or already closing
          }
          finish(code, reason);
        },
      };
    },
  };
}
