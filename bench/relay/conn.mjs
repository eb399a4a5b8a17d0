// A device connection of bench/relay.mjs: a direct WebSocket to the Worker, or gim TCP (u16
// length-prefixed frames) through the relay, signed in with PT_SIGN_IN.
import { connect as netConnect } from "node:net";
import WebSocket from "ws";
import { now, pb, PT } from "../lib.mjs";

/** A device connection over direct WebSocket (credentials in the URL) or gim TCP via the relay. */
export class Conn {
  constructor(device, onOutput) {
    this.device = device;
    this.onOutput = onOutput;
    this.closed = false;
  }

  static async direct(baseUrl, device, onOutput) {
    const conn = new Conn(device, onOutput);
    const url = `${baseUrl.replace(/^http/, "ws")}/ws?user_id=${device.userId}&device_id=${device.deviceId}&token=${encodeURIComponent(device.token)}`;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30_000 });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.on("message", (data, isBinary) => isBinary && conn.onOutput(pb.Output.decode(data), now(), conn));
    ws.on("close", () => (conn.closed = true));
    conn.write = (bytes) => ws.send(bytes);
    conn.close = () => ws.close();
    return conn;
  }

  static async tcp(port, device, onOutput, relayModule) {
    const conn = new Conn(device, onOutput);
    const socket = netConnect({ port, host: "127.0.0.1" });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const decoder = new relayModule.FrameDecoder("u16", 1 << 20);
    let signedIn = null;
    const ready = new Promise((resolve, reject) => (signedIn = { resolve, reject }));
    socket.on("data", (chunk) => {
      const at = now();
      for (const body of decoder.push(chunk)) {
        const out = pb.Output.decode(body);
        if (signedIn && out.type === PT.PT_SIGN_IN) {
          (out.code === 0 ? signedIn.resolve : signedIn.reject)(new Error(`sign-in: ${out.code} ${out.message}`));
          signedIn = null;
        } else {
          conn.onOutput(out, at, conn);
        }
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      conn.closed = true;
      signedIn?.reject(new Error("closed before sign-in"));
    });
    conn.socket = socket;
    conn.write = (bytes) => socket.write(relayModule.encodeFrame("u16", bytes));
    conn.close = () => socket.end();
    conn.write(pb.Input.encode({ type: PT.PT_SIGN_IN, requestId: 1, data: pb.SignInInput.encode(device).finish() }).finish());
    const timer = setTimeout(() => signedIn?.reject(new Error("sign-in timed out")), 60_000);
    await ready.finally(() => clearTimeout(timer));
    return conn;
  }
}
