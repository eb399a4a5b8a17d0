/**
 * The client-facing listeners: gim TCP (one per framing) and the gim-compatible first-packet
 * WebSocket. Admission (draining, instance full, new connections per address) happens here,
 * before a Session exists.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { RelayClose, RelayError } from "./codes";
import type { RelayContext } from "./context";
import { closeNotice } from "./envelope";
import { encodeFrame, type Framing } from "./framing";
import { TcpLink, WsLink, type ClientLink } from "./links";
import type { ListenerName } from "./metrics";

export interface Admission {
  /** Whether a new connection from `address` may open; resolves a refusal reason or null. */
  check(listener: ListenerName, address: string): Promise<{ code: number; reason: string } | null>;
  /** Hands an admitted connection to a new Session. */
  accept(link: ClientLink): void;
}

function listen(server: TcpServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/** A gim TCP listener; connections stay paused until admitted. */
export async function startTcpListener(ctx: RelayContext, admission: Admission, port: number, framing: Framing): Promise<{ server: TcpServer; port: number }> {
  const server = createTcpServer({ pauseOnConnect: true, noDelay: true, highWaterMark: ctx.config.slowConsumerBytes }, (socket) => void admitTcp(ctx, admission, socket, framing));
  return { server, port: await listen(server, ctx.config.host, port) };
}

async function admitTcp(ctx: RelayContext, admission: Admission, socket: Socket, framing: Framing): Promise<void> {
  socket.on("error", () => {
    // a refused or vanished client; nothing to clean up
  });
  const refusal = await admission.check("tcp", socket.remoteAddress ?? "");
  if (socket.destroyed) {
    return;
  }
  if (refusal) {
    socket.setTimeout(ctx.config.closeGraceMs, () => socket.destroy());
    socket.end(encodeFrame(framing, closeNotice(refusal.code, refusal.reason)));
    socket.resume();
    return;
  }
  admission.accept(new TcpLink(socket, framing, ctx.config.maxFrameBytes));
  socket.resume();
}

/** Refuses an upgrade with an HTTP status and a Connect-style JSON body. */
function refuseUpgrade(socket: Duplex, status: number, text: string, body: object): void {
  const json = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`);
}

/** gim's web-client WebSocket (`/ws`, first-packet sign-in, binary envelopes). */
export async function startWsListener(ctx: RelayContext, admission: Admission, port: number): Promise<{ server: HttpServer; port: number }> {
  const { config } = ctx;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes * 2, perMessageDeflate: false });
  const server = createHttpServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end(`WebSocket only: connect to ${config.wsPath}\n`);
  });
  server.headersTimeout = Math.min(60_000, config.signInTimeoutMs);
  server.requestTimeout = server.headersTimeout;
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void admitWs(ctx, admission, wss, req, socket, head));
  return { server, port: await listen(server, config.host, port) };
}

async function admitWs(ctx: RelayContext, admission: Admission, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on("error", () => {
    // the client vanished during the upgrade
  });
  if (new URL(req.url ?? "/", "http://relay").pathname !== ctx.config.wsPath) {
    refuseUpgrade(socket, 404, "Not Found", { code: "not_found", message: `no WebSocket at this path; use ${ctx.config.wsPath}`, gimCode: RelayError.BAD_REQUEST });
    return;
  }
  const address = req.socket.remoteAddress ?? "";
  socket.pause();
  const refusal = await admission.check("ws", address);
  if (socket.destroyed) {
    return;
  }
  if (refusal) {
    const status = refusal.code === RelayClose.RATE_LIMITED ? 429 : 503;
    refuseUpgrade(socket, status, status === 429 ? "Too Many Requests" : "Service Unavailable", { code: status === 429 ? "resource_exhausted" : "unavailable", message: refusal.reason, gimCode: status === 429 ? RelayError.RESOURCE_EXHAUSTED : RelayError.UNAVAILABLE });
    return;
  }
  socket.resume();
  wss.handleUpgrade(req, socket, head, (ws) => admission.accept(new WsLink(ws, address, ctx.config.maxFrameBytes, ctx.config.slowConsumerBytes)));
}
