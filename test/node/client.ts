/** A small real-network client for node tests: HTTP calls and `ws` device sockets with timeouts. */
import { inject } from "vitest";
import WebSocket from "ws";
import { pb } from "../../proto/gen/pb.js";

export interface Session {
  userId: number;
  deviceId: number;
  token: string;
}

export const baseUrl = (): string => inject("baseUrl");

let counter = 0;
export function uniquePhone(): string {
  counter += 1;
  return `2${String(Date.now() % 1e8).padStart(8, "0")}${String(counter).padStart(4, "0")}`;
}

export async function call(path: string, body: unknown, session?: Session, base = baseUrl()) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (session) {
    Object.assign(headers, { user_id: String(session.userId), device_id: String(session.deviceId), token: session.token });
  }
  const res = await fetch(`${base}/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function ok(path: string, body: unknown, session?: Session, base = baseUrl()): Promise<Record<string, any>> {
  const res = await call(path, body, session, base);
  if (res.status !== 200) {
    throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

export async function signIn(phone = uniquePhone(), base = baseUrl()): Promise<Session> {
  const device = await ok("pb.LogicExt/RegisterDevice", { type: 5, brand: "node", model: "test", systemVersion: "1", sdkVersion: "1" }, undefined, base);
  const res = await ok("pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId: device.deviceId }, undefined, base);
  return { userId: Number(res.userId), deviceId: Number(device.deviceId), token: res.token };
}

export class NodeSocket {
  readonly outputs: pb.Output[] = [];
  readonly texts: string[] = [];
  closed: { code: number; reason: string } | null = null;
  #wake: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.outputs.push(pb.Output.decode(new Uint8Array(data as Buffer)));
      } else {
        this.texts.push(String(data));
      }
      this.#wake.splice(0).forEach((f) => f());
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.#wake.splice(0).forEach((f) => f());
    });
  }

  async until<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) {
        return value;
      }
      if (Date.now() >= deadline) {
        throw new Error(`timed out waiting for ${what}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(deadline - Date.now(), 1));
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(type: pb.PackageType, requestId: number, data: Uint8Array = new Uint8Array()): void {
    this.ws.send(pb.Input.encode({ type, requestId, data }).finish());
  }

  reply(requestId: number, timeoutMs?: number): Promise<pb.Output> {
    return this.until(() => {
      const i = this.outputs.findIndex((o) => o.requestId === requestId && o.type !== pb.PackageType.PT_MESSAGE);
      return i >= 0 ? this.outputs.splice(i, 1)[0] : undefined;
    }, `reply ${requestId}`, timeoutMs);
  }

  /** Pushed messages received so far (removed from the buffer). */
  takePushes(): pb.Message[] {
    const pushes: pb.Message[] = [];
    for (let i = 0; i < this.outputs.length; ) {
      const o = this.outputs[i]!;
      if (o.type === pb.PackageType.PT_MESSAGE) {
        pushes.push(pb.MessageSend.decode(o.data).message as pb.Message);
        this.outputs.splice(i, 1);
      } else {
        i += 1;
      }
    }
    return pushes;
  }

  close(): void {
    this.ws.close(1000);
  }
}

export async function connect(session: Session, base = baseUrl(), query = ""): Promise<NodeSocket> {
  const url = `${base.replace(/^http/, "ws")}/ws?user_id=${session.userId}&device_id=${session.deviceId}&token=${encodeURIComponent(session.token)}${query}`;
  const ws = new WebSocket(url);
  const socket = new NodeSocket(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
  });
  return socket;
}

export function textContent(value: string): Uint8Array {
  return pb.Text.encode({ text: value }).finish();
}
