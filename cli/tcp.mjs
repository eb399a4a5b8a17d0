// The SDK transport for gim's TCP framing through the relay (tcp-relay/): each frame is a 2-byte
// big-endian length and a protobuf pb.Input / pb.Output; the first packet must be PT_SIGN_IN
// (the SDK sends it: signInFirst), heartbeats are PT_HEARTBEAT packets.
import net from "node:net";

const MAX_FRAME_BYTES = 0xffff;

/** @param {{host: string, port: number}} address */
export function tcpConnector({ host, port }) {
  return {
    kind: "tcp",
    textPing: false,
    signInFirst: true,
    open(_session, handlers) {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      let pending = Buffer.alloc(0);
      let done = false;
      const finish = (code, reason) => {
        if (!done) {
          done = true;
          handlers.close(code, reason);
        }
      };
      socket.on("connect", () => handlers.open());
      socket.on("data", (chunk) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 2) {
          const length = pending.readUInt16BE(0);
          if (pending.length < 2 + length) {
            break;
          }
          handlers.frame(new Uint8Array(pending.subarray(2, 2 + length)));
          pending = pending.subarray(2 + length);
        }
      });
      socket.on("error", () => undefined); // "close" follows with the outcome
      socket.on("close", () => finish(1006, "relay connection closed"));
      return {
        send(data) {
          if (typeof data === "string") {
            return; // text pings exist on WebSockets only
          }
          if (data.length > MAX_FRAME_BYTES) {
            throw new Error(`frame of ${data.length} bytes does not fit the 2-byte length`);
          }
          const header = Buffer.alloc(2);
          header.writeUInt16BE(data.length);
          socket.write(Buffer.concat([header, data]));
        },
        close(code, reason) {
          socket.destroy();
          finish(code, reason);
        },
      };
    },
  };
}

/** "host:port", ":port", "port" or "host" (port 8080) → {host, port}. */
export function parseRelayAddress(text) {
  const value = String(text || "").trim() || "127.0.0.1:8080";
  const match = /^(?:(.*?):)?(\d+)$/.exec(value);
  if (match) {
    return { host: (match[1] || "127.0.0.1").replace(/^\[(.*)\]$/, "$1"), port: Number(match[2]) };
  }
  return { host: value, port: 8080 };
}
