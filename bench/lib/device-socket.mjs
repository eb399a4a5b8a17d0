// A device's WebSocket speaking the pb.Input / pb.Output protocol.
import WebSocket from "ws";
import { pb } from "../../proto/gen/pb.js";
import { now, waitFor } from "./util.mjs";

const PT = pb.PackageType;

// ---------------------------------------------------------------- socket client

/**
 * Resolves when `ws` is open; rejects if its upgrade is refused (with the HTTP status and the
 * start of the body), fails, or the socket closes first. `what` names it in those errors.
 */
export function whenOpen(ws, what) {
  return new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => reject(new Error(`${what} refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`)));
    });
    ws.on("error", reject); // kept after the open too: an "error" with no listener would throw
    ws.once("close", (code) => reject(new Error(`socket closed before open (${code})`)));
  });
}

/**
 * One device connection. `onPush(message, recvAt)` gets every pushed pb.Message; requests
 * (send, sync, heartbeat) resolve with the decoded pb.Output. `deflate` offers permessage-deflate
 * as browsers do (the server declines it; `extensions` tells what was agreed).
 */
export class DeviceSocket {
  constructor(baseUrl, device, { onPush = null, onClose = null, deflate = false } = {}) {
    this.deflate = deflate;
    this.device = device;
    this.url = `${baseUrl.replace(/^http/, "ws")}/ws?user_id=${device.userId}&device_id=${device.deviceId}&token=${encodeURIComponent(device.token)}`;
    this.onPush = onPush;
    this.onClose = onClose;
    this.nextRequestId = 1;
    this.pending = new Map();
    this.ws = null;
    this.closed = false;
    this.closeInfo = null;
    this.pongs = 0;
  }

  /** Opens the socket; rejects after `timeoutMs`. */
  open(timeoutMs = 30_000) {
    const ws = new WebSocket(this.url, { perMessageDeflate: this.deflate, handshakeTimeout: timeoutMs });
    this.ws = ws;
    const opened = whenOpen(ws, "upgrade");
    ws.on("close", (code, reason) => {
      this.closed = true;
      this.closeInfo = { code, reason: reason.toString() };
      for (const { reject: rej, timer } of this.pending.values()) {
        clearTimeout(timer);
        rej(new Error(`socket closed (${code} ${reason})`));
      }
      this.pending.clear();
      this.onClose?.(this, code, reason.toString());
    });
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    return opened.then(() => this);
  }

  #onMessage(data, isBinary) {
    const recvAt = now();
    if (!isBinary) {
      if (data.toString() === "pong") {
        this.pongs++;
      }
      return;
    }
    const out = pb.Output.decode(data);
    if (out.type === PT.PT_MESSAGE && out.requestId === 0) {
      if (this.onPush) {
        const { message } = pb.MessageSend.decode(out.data);
        this.onPush(message, recvAt, this);
      }
      return;
    }
    const waiter = this.pending.get(out.requestId);
    if (waiter) {
      this.pending.delete(out.requestId);
      clearTimeout(waiter.timer);
      waiter.resolve({ out, recvAt });
    }
  }

  /** Sends one Input and resolves { out, recvAt } with the Output of the same request id. */
  request(type, data, timeoutMs = 30_000) {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      if (this.closed || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("socket is not open"));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`request ${requestId} (type ${type}) timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.ws.send(pb.Input.encode({ type, requestId, data: data ?? new Uint8Array(0) }).finish());
    });
  }

  /** PT_SEND_MESSAGE to a user; resolves { out, recvAt, seq } (seq 0 when out.code != 0). */
  async sendMessage(receiverId, content, clientMsgId, timeoutMs = 30_000) {
    const data = pb.SendMessageReq.encode({
      receiverType: pb.ReceiverType.RT_USER,
      receiverId,
      messageType: pb.MessageType.MT_TEXT,
      messageContent: content,
      isPersist: true,
      clientMsgId,
    }).finish();
    const reply = await this.request(PT.PT_SEND_MESSAGE, data, timeoutMs);
    reply.seq = reply.out.code === 0 ? pb.SendMessageResp.decode(reply.out.data).seq : 0;
    return reply;
  }

  /** One PT_SYNC page: resolves pb.SyncOutput (throws on code != 0). */
  async syncPage(seq, limit = 500, timeoutMs = 30_000) {
    const { out } = await this.request(PT.PT_SYNC, pb.SyncInput.encode({ seq, limit }).finish(), timeoutMs);
    if (out.code !== 0) {
      throw new Error(`sync failed: code ${out.code} ${out.message}`);
    }
    return pb.SyncOutput.decode(out.data);
  }

  async heartbeat(timeoutMs = 30_000) {
    const { out } = await this.request(PT.PT_HEARTBEAT, null, timeoutMs);
    if (out.code !== 0) {
      throw new Error(`heartbeat failed: code ${out.code} ${out.message}`);
    }
  }

  ack(seq) {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(pb.Input.encode({ type: PT.PT_MESSAGE, requestId: 0, data: pb.MessageACK.encode({ deviceAck: seq }).finish() }).finish());
    }
  }

  ping() {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send("ping");
    }
  }

  /** Closes and waits for the close (at most `timeoutMs`, then terminates). */
  async close(timeoutMs = 5_000) {
    if (!this.ws || this.closed) {
      return;
    }
    this.ws.close(1000, "bench done");
    if (!(await waitFor(() => this.closed, timeoutMs, 20))) {
      this.ws.terminate();
    }
  }
}

/** The text content every benchmark message carries (an encoded pb.Text). */
export function textContent(text) {
  return pb.Text.encode({ text }).finish();
}
