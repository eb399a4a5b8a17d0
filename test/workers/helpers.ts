/** Test helpers: Connect calls, signed-in users, and device sockets with timeouts. */
import { exports } from "cloudflare:workers";
import { pb } from "../../proto/gen/pb.js";

export interface Session {
  userId: number;
  deviceId: number;
  token: string;
}

const BASE = "http://gim.test";

/** A Connect unary JSON call; resolves status and parsed body. */
export async function call(path: string, body: unknown, session?: Session, extraHeaders: Record<string, string> = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
  if (session) {
    headers.user_id = String(session.userId);
    headers.device_id = String(session.deviceId);
    headers.token = session.token;
  }
  const res = await exports.default.fetch(`${BASE}/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Like `call` but fails the test on a non-200 answer. */
export async function ok(path: string, body: unknown, session?: Session): Promise<Record<string, any>> {
  const res = await call(path, body, session);
  if (res.status !== 200) {
    throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

let phoneCounter = 0;
/** A unique phone number per call, so tests never share users. */
export function uniquePhone(): string {
  phoneCounter += 1;
  return `1${String(Date.now() % 1e8).padStart(8, "0")}${String(phoneCounter).padStart(4, "0")}`;
}

export async function newDevice(type = 5): Promise<number> {
  const res = await ok("pb.LogicExt/RegisterDevice", { type, brand: "test", model: "vitest", systemVersion: "1", sdkVersion: "1" });
  return Number(res.deviceId);
}

/** Registers a device and signs in; `phone` reuses a user. */
export async function signIn(phone = uniquePhone()): Promise<Session> {
  const deviceId = await newDevice();
  const res = await ok("pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId: String(deviceId) });
  return { userId: Number(res.userId), deviceId, token: res.token };
}

/** Another device of the same user. */
export async function secondDevice(session: Session, phone: string): Promise<Session> {
  const other = await signIn(phone);
  if (other.userId !== session.userId) {
    throw new Error("phone belongs to another user");
  }
  return other;
}

function parseText(data: string): Record<string, any> | string {
  try {
    return JSON.parse(data) as Record<string, any>;
  } catch {
    return data; // e.g. the "pong" answer to a text ping
  }
}

export class TestSocket {
  readonly frames: (pb.Output | Record<string, any> | string)[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      this.frames.push(typeof event.data === "string" ? parseText(event.data) : pb.Output.decode(new Uint8Array(event.data as ArrayBuffer)));
      this.#wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter();
    }
  }

  async until<T>(check: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) {
        return value;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; got ${this.frames.length} frames, closed=${JSON.stringify(this.closed)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for and removes the first binary frame matching `match`. */
  async next(match: (o: pb.Output) => boolean, what: string, timeoutMs?: number): Promise<pb.Output> {
    return this.until(() => {
      const index = this.frames.findIndex((f) => f instanceof pb.Output && match(f));
      return index >= 0 ? (this.frames.splice(index, 1)[0] as pb.Output) : undefined;
    }, what, timeoutMs);
  }

  async reply(requestId: number, timeoutMs?: number): Promise<pb.Output> {
    return this.next((o) => o.requestId === requestId && o.type !== pb.PackageType.PT_MESSAGE, `reply ${requestId}`, timeoutMs);
  }

  /** Waits for `count` pushed messages and returns them in arrival order. */
  async pushes(count: number, timeoutMs?: number): Promise<pb.Message[]> {
    const out: pb.Message[] = [];
    while (out.length < count) {
      const frame = await this.next((o) => o.type === pb.PackageType.PT_MESSAGE, `push ${out.length + 1} of ${count}`, timeoutMs);
      out.push(pb.MessageSend.decode(frame.data).message as pb.Message);
    }
    return out;
  }

  async closedWith(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, "close", timeoutMs);
  }

  send(type: pb.PackageType, requestId: number, data: Uint8Array = new Uint8Array()): void {
    this.ws.send(pb.Input.encode({ type, requestId, data }).finish());
  }

  close(): void {
    try {
      this.ws.close(1000, "done");
    } catch {
      // already closed
    }
  }
}

/** Opens a device socket through the Worker; throws with the HTTP answer when refused. */
export async function connect(session: Session, query = ""): Promise<TestSocket> {
  const url = `${BASE}/ws?user_id=${session.userId}&device_id=${session.deviceId}&token=${encodeURIComponent(session.token)}${query}`;
  const res = await exports.default.fetch(url, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket;
  if (!ws) {
    throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  }
  ws.binaryType = "arraybuffer"; // workerd defaults to Blob with this compatibility date
  ws.accept();
  return new TestSocket(ws);
}

let requestCounter = 0;
/** Sends a message over the socket (PT_SEND_MESSAGE) and resolves the reply. */
export async function sendOverSocket(socket: TestSocket, req: pb.ISendMessageReq): Promise<pb.Output> {
  requestCounter += 1;
  const requestId = requestCounter;
  socket.send(pb.PackageType.PT_SEND_MESSAGE, requestId, pb.SendMessageReq.encode({ isPersist: true, ...req }).finish());
  return socket.reply(requestId);
}

export function text(message: pb.IMessage): string {
  return pb.Text.decode(message.messageContent ?? new Uint8Array()).text;
}

export function textContent(value: string): Uint8Array {
  return pb.Text.encode({ text: value }).finish();
}

/** Base64 of a Text payload, for JSON bodies. */
export function textBase64(value: string): string {
  return btoa(String.fromCharCode(...textContent(value)));
}

/** Syncs over the socket from `seq`, following has_more; resolves every message in order. */
export async function syncAll(socket: TestSocket, seq: number, limit = 0): Promise<{ messages: pb.Message[]; pages: number }> {
  const messages: pb.Message[] = [];
  let pages = 0;
  let from = seq;
  for (;;) {
    requestCounter += 1;
    const requestId = requestCounter;
    socket.send(pb.PackageType.PT_SYNC, requestId, pb.SyncInput.encode({ seq: from, limit }).finish());
    const reply = await socket.reply(requestId);
    if (reply.code !== 0) {
      throw new Error(`sync failed: ${reply.code} ${reply.message}`);
    }
    const page = pb.SyncOutput.decode(reply.data);
    pages += 1;
    messages.push(...(page.messages as pb.Message[]));
    const last = page.messages.at(-1);
    if (!page.hasMore || !last) {
      return { messages, pages };
    }
    from = Number(last.seq);
  }
}

/** One sync page. */
export async function syncPage(socket: TestSocket, seq: number, limit = 0): Promise<pb.SyncOutput> {
  requestCounter += 1;
  const requestId = requestCounter;
  socket.send(pb.PackageType.PT_SYNC, requestId, pb.SyncInput.encode({ seq, limit }).finish());
  const reply = await socket.reply(requestId);
  if (reply.code !== 0) {
    throw new Error(`sync failed: ${reply.code} ${reply.message}`);
  }
  return pb.SyncOutput.decode(reply.data);
}

/** Sends a 1:1 text over HTTP; resolves the sender's seq. */
export async function sendText(from: Session, toUserId: number, value: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await ok(
    "pb.LogicExt/SendMessage",
    { receiverType: "RT_USER", receiverId: toUserId, messageType: "MT_TEXT", messageContent: textBase64(value), isPersist: true, ...extra },
    from,
  );
  return Number(res.seq ?? 0);
}

/** Creates a group owned by `owner` with `members`; resolves its id. */
export async function createGroup(owner: Session, members: Session[], name = "team"): Promise<number> {
  const res = await ok("pb.LogicExt/CreateGroup", { name, memberIds: members.map((m) => m.userId) }, owner);
  return Number(res.groupId);
}

/** Sends a text to a group over HTTP; resolves the sender's seq. */
export async function sendGroupText(from: Session, groupId: number, value: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await ok(
    "pb.LogicExt/SendMessage",
    { receiverType: "RT_GROUP", receiverId: groupId, messageType: "MT_TEXT", messageContent: textBase64(value), isPersist: true, ...extra },
    from,
  );
  return Number(res.seq ?? 0);
}

/** The decoded Command of a system notification. */
export function commandOf(message: pb.IMessage): pb.Command {
  return pb.Command.decode(message.messageContent ?? new Uint8Array());
}

/** Opens a room socket (GET /room) through the Worker. */
export async function connectRoom(session: Session, roomId: number, seq = 0, query = ""): Promise<TestSocket> {
  const url = `${BASE}/room?room_id=${roomId}&seq=${seq}&user_id=${session.userId}&device_id=${session.deviceId}&token=${encodeURIComponent(session.token)}${query}`;
  const res = await exports.default.fetch(url, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket;
  if (!ws) {
    throw new Error(`room upgrade refused: ${res.status} ${await res.text()}`);
  }
  ws.binaryType = "arraybuffer";
  ws.accept();
  return new TestSocket(ws);
}

/** Pushes a text to a room over HTTP as `from`. */
export async function pushRoomText(from: Session, roomId: number, value: string, extra: Record<string, unknown> = {}): Promise<void> {
  await ok("pb.LogicExt/PushRoom", { roomId, messageType: "MT_TEXT", messageContent: textBase64(value), isPersist: true, ...extra }, from);
}

/** A server-to-server (pb.LogicInt) call with the test server secret. */
export async function callInt(method: string, body: unknown, secret = "test-server-secret") {
  return call(`pb.LogicInt/${method}`, body, undefined, { authorization: `Bearer ${secret}` });
}

let roomCounter = 0;
/** A room id no other test uses. */
export function uniqueRoom(): number {
  roomCounter += 1;
  return (Date.now() % 1e9) * 100 + roomCounter;
}
