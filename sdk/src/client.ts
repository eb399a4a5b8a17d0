/**
 * GimClient: sign-in, one long connection with reconnects, gap-free resume (InboxStream), sends
 * with client message ids, rooms, and typed events. Runs in browsers and in Node.
 */
import { pb } from "../../proto/gen/pb.js";
import { Connection, LocalClose } from "./connection";
import { textContent } from "./content";
import { Emitter, type Listener } from "./emitter";
import { ClientErrorCode, CloseCode, ErrorCode, GimError } from "./errors";
import type { ClosedEvent, ConnectionState, GimEvents, StateEvent } from "./events";
import { HttpApi, type Session } from "./http";
import { InboxStream } from "./inbox";
import { backoffDelay, DEFAULT_OPTIONS, type GimClientOptions, type ResolvedOptions, type SendInput, type Target } from "./options";
import { RoomSubscription, type JoinRoomOptions } from "./room";
import { newClientMsgId, ownCopy, SendQueue, type PendingSend, type SendResult } from "./sends";
import { defaultSeqStore, type SeqStore } from "./seq-store";
import { webSocketConnector, type Connector } from "./transport";
import { Waiters } from "./waiters";

export class GimClient {
  /** Typed HTTP calls (friends, groups, users, …) with this client's session. */
  readonly api: HttpApi;
  readonly #options: ResolvedOptions;
  readonly #events = new Emitter<GimEvents>();
  readonly #sends = new SendQueue(() => this.#inbox?.sendSettled());
  readonly #store: SeqStore;
  #connector: Connector | null;
  #session: Session | null;
  #state: ConnectionState = "idle";
  #inbox: InboxStream | null = null;
  #conn: Connection | null = null;
  /** The connection whose sync has started: pushes and sends go through it only. */
  #live: Connection | null = null;
  #stopped = true;
  /** Counts connect() starts and disconnect()s, so a connect that waited knows it was overtaken. */
  #starts = 0;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #room: RoomSubscription | null = null;
  readonly #waiters = new Waiters();

  constructor(options: GimClientOptions) {
    this.#options = { ...DEFAULT_OPTIONS, ...options };
    this.#session = options.session ?? null;
    this.#store = options.seqStore ?? defaultSeqStore();
    this.#connector = options.connector ?? null;
    const { baseUrl, fetch } = options;
    this.api = new HttpApi({ baseUrl, fetch, session: () => this.#session, timeoutMs: this.#options.requestTimeoutMs });
  }

  get session(): Session | null {
    return this.#session;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The highest inbox seq delivered (0 before the first connect). */
  get lastSeq(): number {
    return this.#inbox?.lastSeq ?? 0;
  }

  /** Sends waiting for the server's answer. */
  get pendingSends(): number {
    return this.#sends.size;
  }

  on<K extends keyof GimEvents>(name: K, listener: Listener<GimEvents[K]>): () => void {
    return this.#events.on(name, listener);
  }

  off<K extends keyof GimEvents>(name: K, listener: Listener<GimEvents[K]>): void {
    this.#events.off(name, listener);
  }

  /** Registers a device (type 5, web, unless given); resolves its id. */
  async registerDevice(info: pb.IRegisterDeviceReq = {}): Promise<number> {
    const req = { type: 5, brand: "gim-sdk", model: "client", systemVersion: "1", sdkVersion: "1", ...info };
    return (await this.api.registerDevice(req)).deviceId;
  }

  /** Signs in (registering a device when none is given) and uses the new session. */
  async signIn(req: { phoneNumber: string; code: string; deviceId?: number }): Promise<Session & { isNew: boolean }> {
    const deviceId = req.deviceId ?? (await this.registerDevice());
    const res = await this.api.signIn({ phoneNumber: req.phoneNumber, code: req.code, deviceId });
    const session = { userId: res.userId, deviceId, token: res.token };
    this.setSession(session);
    return { ...session, isNew: res.isNew };
  }

  /** Uses stored credentials; another user or device ends the current connection first. */
  setSession(session: Session | null): void {
    const old = this.#session;
    if (!session || !old || session.userId !== old.userId || session.deviceId !== old.deviceId) {
      this.disconnect();
      this.#inbox = null;
      this.#room = null;
    }
    this.#session = session;
  }

  /**
   * Connects and resolves once the first sync is done. Reconnects on its own until
   * `disconnect()` or a terminal close (4500, 4501), which rejects a pending connect.
   * @throws GimError(UNAUTHORIZED) without a session or when the token is refused
   */
  async connect(): Promise<void> {
    const session = this.#session;
    if (!session) {
      throw new GimError(ErrorCode.UNAUTHORIZED, "sign in first");
    }
    if (this.#state === "online") {
      return;
    }
    const done = this.#waiters.add();
    if (this.#stopped) {
      this.#stopped = false;
      this.#attempt = 0;
      const start = ++this.#starts;
      if (!this.#inbox || this.#inbox.userId !== session.userId) {
        const lastSeq = await this.#store.load(session.userId);
        if (start !== this.#starts) {
          return done; // disconnect() and connect() came while the seq was loading: that connect opens
        }
        this.#inbox = new InboxStream(session.userId, lastSeq, {
          events: this.#events,
          store: this.#store,
          options: this.#options,
          hooks: {
            synced: () => this.#onSynced(),
            syncFailed: (conn, err) => this.#onSyncFailed(conn, err),
            sendsInFlight: () => this.#sends.size,
          },
        });
      }
      if (!this.#stopped) {
        this.#open(); // unless disconnect() came while the seq was loading
      }
    }
    return done;
  }

  /** Closes the connection and stops reconnecting; queued sends fail with CANCELLED. */
  disconnect(): void {
    if (this.#stopped) {
      return;
    }
    this.#stopped = true;
    this.#starts += 1;
    clearTimeout(this.#reconnectTimer);
    this.#inbox?.flushAck();
    this.#conn?.close(LocalClose.NORMAL, "client closed");
    this.#finish({ code: LocalClose.NORMAL, reason: "client closed", terminal: false });
  }

  /**
   * Sends a message; resolves the seq of the sender's copy. Queued while reconnecting and sent
   * again with the same clientMsgId, so the server stores it once.
   * @throws GimError: the server's code (e.g. USER_NOT_FOUND), DEADLINE_EXCEEDED, CANCELLED
   */
  send(input: SendInput): Promise<SendResult> {
    const { text, ...fields } = input;
    const req = pb.SendMessageReq.create({
      messageType: pb.MessageType.MT_TEXT,
      isPersist: true,
      ...fields,
      messageContent: input.messageContent ?? textContent(text ?? ""),
      clientMsgId: input.clientMsgId || newClientMsgId(),
    });
    const { item, result } = this.#sends.add(req, this.#options.sendTimeoutMs);
    if (this.#stopped) {
      this.#sends.settle(item);
      item.reject(new GimError(ClientErrorCode.CANCELLED, "not connected: call connect() first"));
    } else if (this.#live) {
      this.#transmit(item, this.#live);
    }
    return result;
  }

  /** Sends a text to a user or a group. */
  sendText(target: Target, text: string, clientMsgId?: string): Promise<SendResult> {
    const toUser = "userId" in target;
    return this.send({
      receiverType: toUser ? pb.ReceiverType.RT_USER : pb.ReceiverType.RT_GROUP,
      receiverId: toUser ? target.userId : target.groupId,
      text,
      clientMsgId,
    });
  }

  /**
   * Subscribes the connection to a room (one at a time, as gim) and keeps it subscribed across
   * reconnects, replaying from the last room seq seen; "roomMessage" events follow.
   */
  async joinRoom(roomId: number, options: JoinRoomOptions = {}): Promise<void> {
    const lastSeq = options.fromSeq ? options.fromSeq - 1 : Number((await this.api.getRoomInfo(roomId)).seq);
    this.#room = new RoomSubscription(roomId, lastSeq);
    if (this.#live) {
      await this.#live.request(pb.PackageType.PT_SUBSCRIBE_ROOM, this.#room.subscribeInput());
    }
  }

  /** Leaves the room joined with joinRoom. */
  async leaveRoom(): Promise<void> {
    this.#room = null;
    if (this.#live) {
      await this.#live.request(pb.PackageType.PT_SUBSCRIBE_ROOM, pb.SubscribeRoomInput.encode({ roomId: 0 }).finish());
    }
  }

  /** Broadcasts a text to a room (over the socket when connected, else over HTTP). */
  async pushRoom(roomId: number, text: string, options: { isPersist?: boolean; isPriority?: boolean } = {}): Promise<void> {
    const req = pb.PushRoomReq.create({
      roomId,
      messageType: pb.MessageType.MT_TEXT,
      messageContent: textContent(text),
      isPersist: options.isPersist ?? true,
      isPriority: options.isPriority ?? false,
    });
    if (this.#live) {
      await this.#live.request(pb.PackageType.PT_PUSH_ROOM, pb.PushRoomReq.encode(req).finish());
    } else {
      await this.api.pushRoom(req);
    }
  }

  // ---- connection lifecycle ----

  #open(): void {
    this.#connector ??= webSocketConnector({ baseUrl: this.#options.baseUrl, WebSocket: this.#options.WebSocket });
    this.#setState("connecting");
    const conn: Connection = new Connection(this.#connector, this.#session as Session, this.#options, {
      open: () => void this.#onOpen(conn),
      unsolicited: (output) => this.#onUnsolicited(conn, output),
      close: (code, reason, opened) => void this.#onClose(conn, code, reason, opened),
    });
    this.#conn = conn;
  }

  async #onOpen(conn: Connection): Promise<void> {
    if (this.#connector?.signInFirst) {
      try {
        await conn.request(pb.PackageType.PT_SIGN_IN, pb.SignInInput.encode(this.#session as Session).finish());
      } catch (err) {
        const refused = err instanceof GimError && err.code === ErrorCode.UNAUTHORIZED;
        conn.close(refused ? CloseCode.AUTH_FAILED : LocalClose.DEAD, refused ? "sign-in refused" : "sign-in not answered");
        return;
      }
    }
    if (conn !== this.#conn || !this.#inbox) {
      return;
    }
    this.#live = conn;
    this.#setState("syncing");
    this.#inbox.start(conn);
    for (const item of this.#sends.unsent(conn)) {
      this.#transmit(item, conn);
    }
    this.#resubscribe(conn, this.#room);
  }

  async #onClose(conn: Connection, code: number, reason: string, opened: boolean): Promise<void> {
    if (conn !== this.#conn) {
      return;
    }
    this.#conn = null;
    this.#live = null;
    this.#inbox?.stop();
    if (this.#stopped) {
      return;
    }
    let terminal = code >= 4500 && code <= 4999;
    if (!terminal && !opened && (await this.#credentialsRefused())) {
      // A refused upgrade (HTTP 401) looks like any network failure in a browser: HTTP tells.
      [terminal, code, reason] = [true, CloseCode.AUTH_FAILED, "the server refused this token: sign in again"];
    }
    if (this.#stopped) {
      return;
    }
    if (terminal) {
      this.#stopped = true;
      this.#finish({ code, reason, terminal: true });
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#options.reconnectMinDelayMs, this.#options.reconnectMaxDelayMs);
    this.#attempt += 1;
    this.#setState("reconnecting", { retryInMs: delay, code });
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
  }

  /** Stops for good: state "closed", a pending connect and queued sends fail. */
  #finish(event: ClosedEvent): void {
    this.#conn = null;
    this.#live = null;
    this.#inbox?.stop();
    const code = event.code === CloseCode.AUTH_FAILED ? ErrorCode.UNAUTHORIZED : ClientErrorCode.CANCELLED;
    const err = new GimError(code, event.reason || "closed");
    this.#sends.failAll(err);
    this.#waiters.rejectAll(err);
    this.#setState("closed", { code: event.code });
    this.#events.emit("closed", event);
  }

  async #credentialsRefused(): Promise<boolean> {
    try {
      await this.api.getUser(0);
      return false;
    } catch (err) {
      return err instanceof GimError && err.code === ErrorCode.UNAUTHORIZED;
    }
  }

  #onSynced(): void {
    if (this.#state === "syncing") {
      this.#attempt = 0;
      this.#setState("online");
      this.#waiters.resolveAll();
    }
  }

  #onSyncFailed(conn: Connection, err: unknown): void {
    this.#report(err);
    conn.close(LocalClose.DEAD, "sync failed");
  }

  #onUnsolicited(conn: Connection, output: pb.Output): void {
    if (output.type !== pb.PackageType.PT_MESSAGE) {
      if (output.code !== 0) {
        this.#events.emit("error", new GimError(output.code, output.message));
      }
      if (output.type === pb.PackageType.PT_SUBSCRIBE_ROOM && output.code !== 0) {
        const room = this.#room; // a relay's room socket was closed under us: subscribe again
        setTimeout(() => this.#resubscribe(conn, room), this.#options.reconnectMinDelayMs);
      }
      return;
    }
    const message = pb.MessageSend.decode(output.data).message;
    if (!(message instanceof pb.Message)) {
      return;
    }
    if (message.receiverType === pb.ReceiverType.RT_ROOM) {
      if (this.#room?.accept(message)) {
        this.#events.emit("roomMessage", message);
      }
    } else if (conn === this.#live) {
      this.#inbox?.push(message);
    } else if (message.seq === 0) {
      this.#inbox?.deliverTransient(message);
    }
    // else: a persisted push before this connection's sync started; that sync brings it
  }

  /** Subscribes `conn` to `room` again, if it still is the room and the live connection. */
  #resubscribe(conn: Connection, room: RoomSubscription | null): void {
    if (room && room === this.#room && conn === this.#live) {
      conn.request(pb.PackageType.PT_SUBSCRIBE_ROOM, room.subscribeInput()).catch((err: unknown) => this.#report(err));
    }
  }

  #setState(state: ConnectionState, extra: Partial<StateEvent> = {}): void {
    this.#state = state;
    this.#events.emit("state", { state, attempt: this.#attempt, ...extra });
  }

  #report(err: unknown): void {
    if (err instanceof GimError && err.code !== ClientErrorCode.CANCELLED) {
      this.#events.emit("error", err);
    }
  }

  // ---- sends ----

  #transmit(item: PendingSend, conn: Connection): void {
    item.sentOn = conn;
    conn.request(pb.PackageType.PT_SEND_MESSAGE, pb.SendMessageReq.encode(item.req).finish()).then(
      (output) => {
        const seq = pb.SendMessageResp.decode(output.data).seq;
        if (!this.#sends.has(item)) {
          return; // timed out meanwhile
        }
        if (seq > 0 && conn === this.#live) {
          // The sending device gets this reply instead of a push: its copy joins the inbox order here.
          this.#inbox?.push(ownCopy(item.req, seq, this.#session as Session));
        }
        this.#sends.settle(item);
        item.resolve({ seq, clientMsgId: item.req.clientMsgId });
      },
      (err: unknown) => {
        const code = err instanceof GimError ? err.code : ErrorCode.INTERNAL;
        if (code === ClientErrorCode.DEADLINE_EXCEEDED && conn === this.#conn) {
          conn.close(LocalClose.DEAD, "send not answered");
        } else if (code !== ClientErrorCode.CANCELLED && this.#sends.settle(item)) {
          item.reject(err instanceof GimError ? err : new GimError(code, String(err)));
        }
        // CANCELLED (the connection dropped): the next connection sends it again, same client_msg_id
      },
    );
  }
}
