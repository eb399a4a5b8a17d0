/**
 * Helpers of the relay tests: users on the real local server, a relay started in-process on
 * port 0, and a gim TCP client. Every wait has a timeout.
 */
import { connect as netConnect, type Socket } from "node:net";
import { expect, inject } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { FrameDecoder, encodeFrame, type Framing } from "../src/framing";
import { startRelay, type Relay } from "../src/relay";
import type { RelayOptions } from "../src/config";
import type { Store } from "../src/store";

export { pb };
export const PT = pb.PackageType;

export const baseUrl = (): string => inject("baseUrl");

export interface Device {
  userId: number;
  deviceId: number;
  token: string;
  phone: string;
}

let counter = 0;
export function uniquePhone(): string {
  counter += 1;
  return `3${String(Date.now() % 1e8).padStart(8, "0")}${String(process.pid % 100).padStart(2, "0")}${String(counter).padStart(4, "0")}`;
}

let rooms = 0;
export function uniqueRoom(): number {
  rooms += 1;
  return (Date.now() % 1e9) * 100 + (process.pid % 50) * 2 + rooms;
}

export async function post(path: string, body: unknown, device?: Device): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (device) {
    Object.assign(headers, { user_id: String(device.userId), device_id: String(device.deviceId), token: device.token });
  }
  const res = await fetch(`${baseUrl()}/${path}`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function ok(path: string, body: unknown, device?: Device): Promise<Record<string, unknown>> {
  const res = await post(path, body, device);
  if (res.status !== 200) {
    throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/** Registers a device and signs in with `phone` (a new user unless the phone was used before). */
export async function signIn(phone = uniquePhone()): Promise<Device> {
  const device = await ok("pb.LogicExt/RegisterDevice", { type: 1, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" });
  const res = await ok("pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId: device.deviceId });
  return { userId: Number(res.userId), deviceId: Number(device.deviceId), token: String(res.token), phone };
}

export async function pushRoom(device: Device, roomId: number, text: string, isPersist = true): Promise<void> {
  const messageContent = Buffer.from(pb.Text.encode({ text }).finish()).toString("base64");
  await ok("pb.LogicExt/PushRoom", { roomId: String(roomId), messageType: "MT_TEXT", messageContent, isPersist }, device);
}

export const textOf = (m: pb.IMessage): string => pb.Text.decode(m.messageContent ?? new Uint8Array()).text;

const relays = new Set<Relay>();

/** A relay on loopback port 0 for the real local server, quiet, with a fast ticker. */
export async function startTestRelay(options: Partial<RelayOptions> = {}): Promise<Relay> {
  const relay = await startRelay({
    workerUrl: baseUrl(),
    host: "127.0.0.1",
    tcp: [{ port: 0, framing: "u16" }],
    wsPort: null,
    grpcPort: null,
    metricsPort: null,
    logLevel: "silent",
    tickMs: 50,
    connectionsPerIp: 0,
    failedSignInsPerIp: 0,
    ...options,
  });
  relays.add(relay);
  return relay;
}

/** Stops every relay started by startTestRelay (for afterAll/afterEach). */
export async function stopRelays(): Promise<void> {
  await Promise.all([...relays].map((r) => r.stop()));
  relays.clear();
}

/** Polls `check` (woken early by `wake` listeners) until it returns a truthy value. */
export async function until<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A gim TCP client: framed pb.Input out, framed pb.Output in. */
export class TcpClient {
  readonly outputs: pb.Output[] = [];
  readonly #decoder: FrameDecoder;
  closed = false;
  decodeError: Error | null = null;
  #nextRequestId = 1000;

  private constructor(
    readonly socket: Socket,
    readonly framing: Framing,
  ) {
    this.#decoder = new FrameDecoder(framing, 16 * 1024 * 1024);
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const body of this.#decoder.push(chunk)) {
          this.outputs.push(pb.Output.decode(body));
        }
      } catch (err) {
        this.decodeError = err as Error;
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => (this.closed = true));
  }

  static connect(port: number, framing: Framing = "u16"): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: "127.0.0.1" });
      const timer = setTimeout(() => reject(new Error("connect timed out")), 10_000);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new TcpClient(socket, framing));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  requestId(): number {
    return ++this.#nextRequestId;
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends one framed Input; returns its request id. */
  send(type: pb.PackageType, data: Uint8Array = new Uint8Array(), requestId = this.requestId()): number {
    this.socket.write(encodeFrame(this.framing, pb.Input.encode({ type, requestId, data }).finish()));
    return requestId;
  }

  async reply(requestId: number, type?: pb.PackageType, timeoutMs = 10_000): Promise<pb.Output> {
    return until(() => this.outputs.find((o) => o.requestId === requestId && (type === undefined || o.type === type)), `reply to request ${requestId}`, timeoutMs);
  }

  async request(type: pb.PackageType, data?: Uint8Array, timeoutMs = 10_000): Promise<pb.Output> {
    return this.reply(this.send(type, data), type, timeoutMs);
  }

  async signIn(device: Device, timeoutMs = 10_000): Promise<pb.Output> {
    return this.request(PT.PT_SIGN_IN, pb.SignInInput.encode({ userId: device.userId, deviceId: device.deviceId, token: device.token }).finish(), timeoutMs);
  }

  async sendText(receiverId: number, text: string, opts: { isPersist?: boolean; content?: Uint8Array } = {}): Promise<pb.Output> {
    const data = pb.SendMessageReq.encode({
      receiverType: pb.ReceiverType.RT_USER,
      receiverId,
      messageType: pb.MessageType.MT_TEXT,
      messageContent: opts.content ?? pb.Text.encode({ text }).finish(),
      isPersist: opts.isPersist ?? true,
    }).finish();
    return this.request(PT.PT_SEND_MESSAGE, data);
  }

  /** Pushed messages (PT_MESSAGE with request id 0) so far. */
  pushed(): pb.Message[] {
    return this.outputs.filter((o) => o.type === PT.PT_MESSAGE && o.requestId === 0).map((o) => pb.MessageSend.decode(o.data).message as pb.Message);
  }

  async pushes(n: number, timeoutMs = 10_000): Promise<pb.Message[]> {
    await until(() => this.pushed().length >= n, `${n} pushes (have ${this.pushed().length})`, timeoutMs);
    return this.pushed();
  }

  /** The close notice (type 0, close code) and the end of the connection. */
  async closeNotice(timeoutMs = 10_000): Promise<pb.Output> {
    await until(() => this.closed, "the relay to close the connection", timeoutMs);
    const notice = this.outputs.at(-1);
    if (!notice || notice.type !== PT.PT_UNKNOWN || notice.code < 1000) {
      throw new Error(`last frame is not a close notice: ${JSON.stringify(notice?.toJSON())}`);
    }
    return notice;
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await until(() => this.closed, "the connection to close", timeoutMs);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A TCP client signed in through the relay. */
export async function connectSignedIn(port: number, device: Device, framing: Framing = "u16"): Promise<TcpClient> {
  const client = await TcpClient.connect(port, framing);
  const reply = await client.signIn(device);
  if (reply.code !== 0) {
    throw new Error(`sign-in failed: ${reply.code} ${reply.message}`);
  }
  return client;
}

/**
 * The registry's compare-and-delete on one store: a device registered by connection c1, then by
 * c2 (it connected again) stays registered when c1 ends after, and goes when c2 ends.
 */
export async function expectOnlyHolderReleases(store: Store, instanceId: string): Promise<void> {
  await store.registerDevice(6, 5, "c1");
  await store.registerDevice(6, 5, "c2");
  await store.releaseDevice(6, "c1");
  expect(await store.lookupDevice(6)).toEqual({ instanceId, userId: 5 });
  await store.releaseDevice(6, "c2");
  expect(await store.lookupDevice(6)).toBeNull();
}
