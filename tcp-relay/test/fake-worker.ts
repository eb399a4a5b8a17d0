/**
 * A scripted stand-in for the Worker's WebSocket endpoints (G20: relay tests against a fake
 * upstream), for behaviour the real server cannot be made to show on demand: abrupt drops,
 * unanswered pings, server errors on upgrade.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import WebSocket, { WebSocketServer } from "ws";
import { pb } from "../../proto/gen/pb.js";

export interface FakeConnection {
  ws: WebSocket;
  path: string;
  query: URLSearchParams;
  /** Binary frames received, decoded. */
  inputs: pb.Input[];
  texts: string[];
  closed: { code: number; reason: string } | null;
}

export interface FakeWorkerOptions {
  /** Answer text "ping" with "pong" (the real Durable Objects do). */
  answerPings?: boolean;
  /** Refuse upgrades with this HTTP status and body instead of accepting. */
  refuse?: { status: number; body: string } | null;
}

export class FakeWorker {
  readonly connections: FakeConnection[] = [];
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  url = "";

  constructor(readonly options: FakeWorkerOptions = {}) {
    this.#server = createServer((_req, res) => res.writeHead(404).end());
    this.#server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refuse = this.options.refuse;
      if (refuse) {
        socket.end(`HTTP/1.1 ${refuse.status} Refused\r\ncontent-length: ${Buffer.byteLength(refuse.body)}\r\nconnection: close\r\n\r\n${refuse.body}`);
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const address = this.#server.address();
    this.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    this.connections.forEach((c) => c.ws.terminate());
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const conn: FakeConnection = { ws, path: url.pathname, query: url.searchParams, inputs: [], texts: [], closed: null };
    this.connections.push(conn);
    ws.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) {
        conn.texts.push(data.toString());
        if (data.toString() === "ping" && this.options.answerPings !== false) {
          ws.send("pong");
        }
        return;
      }
      const input = pb.Input.decode(data);
      conn.inputs.push(input);
      if (input.type === pb.PackageType.PT_SIGN_IN) {
        ws.send(pb.Output.encode({ type: input.type, requestId: input.requestId, code: 0 }).finish());
      }
    });
    ws.on("close", (code, reason) => (conn.closed = { code, reason: reason.toString() }));
  }
}
