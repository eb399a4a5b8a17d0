/**
 * A stand-in for tcp-relay/ in the CLI tests: gim's TCP framing (2-byte big-endian length +
 * pb.Input/pb.Output), first packet PT_SIGN_IN, each TCP connection bridged to one /ws socket,
 * and the relay's close notice (Output{type 0, request_id 0, code: close code}) before it hangs up.
 */
import net from "node:net";
import WebSocket from "ws";
import { pb } from "../../proto/gen/pb.js";

export interface FakeRelay {
  port: number;
  /** Connections whose first packet was PT_SIGN_IN. */
  signIns: number;
  close(): Promise<void>;
}

function frame(bytes: Uint8Array): Buffer {
  const header = Buffer.alloc(2);
  header.writeUInt16BE(bytes.length);
  return Buffer.concat([header, bytes]);
}

export async function startFakeRelay(baseUrl: string): Promise<FakeRelay> {
  const wsBase = baseUrl.replace(/^http/, "ws");
  const sockets = new Set<net.Socket>();
  const relay: FakeRelay = { port: 0, signIns: 0, close: async () => undefined };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let upstream: WebSocket | null = null;
    const waiting: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const onFrame = (bytes: Buffer) => {
      if (upstream) {
        if (upstream.readyState === WebSocket.OPEN) {
          upstream.send(bytes);
        } else {
          waiting.push(bytes);
        }
        return;
      }
      const input = pb.Input.decode(bytes);
      if (input.type !== pb.PackageType.PT_SIGN_IN) {
        socket.destroy();
        return;
      }
      relay.signIns += 1;
      const s = pb.SignInInput.decode(input.data);
      const ws = new WebSocket(`${wsBase}/ws?user_id=${s.userId}&device_id=${s.deviceId}&token=${encodeURIComponent(s.token)}`);
      upstream = ws;
      waiting.push(bytes); // the server answers the sign-in itself
      ws.on("open", () => waiting.splice(0).forEach((b) => ws.send(b)));
      ws.on("message", (data, isBinary) => isBinary && socket.write(frame(new Uint8Array(data as Buffer))));
      ws.on("unexpected-response", () => {
        const refusal = { type: pb.PackageType.PT_SIGN_IN, requestId: input.requestId, code: 10000, message: "sign-in refused" };
        socket.end(frame(pb.Output.encode(refusal).finish()));
      });
      ws.on("close", (code, reason) => {
        const notice = { type: pb.PackageType.PT_UNKNOWN, requestId: 0, code, message: String(reason) };
        socket.end(frame(pb.Output.encode(notice).finish()));
      });
      ws.on("error", () => socket.destroy());
    };
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const length = pending.readUInt16BE(0);
        onFrame(pending.subarray(2, 2 + length));
        pending = pending.subarray(2 + length);
      }
    });
    socket.on("close", () => {
      sockets.delete(socket);
      upstream?.close();
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  relay.port = (server.address() as net.AddressInfo).port;
  relay.close = () =>
    new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    });
  return relay;
}
