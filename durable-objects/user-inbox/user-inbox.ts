/**
 * UserInbox: one per user. Owns the user's seq and messages (invariant 1), the outbox of copies
 * for other inboxes (invariant 2), sends deduplicated by client message id (invariant 3), device
 * acks and tokens, and the user's device sockets (hibernation API).
 */
import { DurableObject } from "cloudflare:workers";
import { decodeBinary } from "../../proto/codec";
import { CloseCode, ErrorCode } from "../../proto/codes";
import { connectErrorResponse } from "../../proto/connect-error";
import { AppError, toResult, unwrap, type Result } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { beforeSend, hasBeforeSendHook } from "../../workers/business/before-send";
import { BusinessClient, businessConfig } from "../../workers/business/business-client";
import type { Env } from "../../workers/env";
import { chatRoom, groupChat, presence, userInbox } from "../../workers/stubs";
import type { RoomItem } from "../chat-room/catch-up";
import { AlarmClock } from "../shared/alarm";
import { EventOutbox, eventsConfig } from "../shared/event-outbox";
import { readLimits, type Limits } from "../shared/limits";
import { migrate } from "../shared/migrate";
import { dispatchFrame } from "./dispatch";
import { Outbox, type DeliveryItem } from "./outbox";
import { Peers } from "./peers";
import { openSockets, RoomSubscriptions } from "./room-subscriptions";
import { INBOX_MIGRATIONS } from "./schema";
import { userMessageBody, validateSend } from "./send";
import { closeIdleSockets, closeWith, deviceTag, pushToDevices, readAttachment, writeAttachment } from "./sockets";
import { createStatements, type Statements } from "./statements";
import { syncPage } from "./sync";
import { checkToken } from "./tokens";
import { InboxWrites } from "./writes";

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export class UserInbox extends DurableObject<Env> {
  readonly #stmts: Statements;
  readonly #limits: Limits;
  readonly #outbox: Outbox;
  readonly #userId: number;
  readonly #writes: InboxWrites;
  readonly #alarm: AlarmClock;
  readonly #events: EventOutbox;
  #retryDelay = RETRY_MIN_MS;
  readonly #peers: Peers;
  readonly #rooms: RoomSubscriptions;
  /** Stubs of the inboxes this one delivers to, reused (a stub per call costs a lookup each). */
  readonly #peerInboxes = new Map<number, ReturnType<typeof userInbox>>();
  /**
   * Sends are prepared one after another (checks, profile, business hook) and queued for writing
   * in that order, so the seq order is the order requests arrived in.
   */
  #sendChain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#userId = Number(ctx.id.name?.replace(/^user:/, ""));
    migrate(ctx.storage.sql, INBOX_MIGRATIONS);
    this.#stmts = createStatements(ctx.storage.sql);
    this.#limits = readLimits(env);
    this.#outbox = new Outbox(this.#stmts, (target, items) => this.#deliverTo(target, items));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.#alarm = new AlarmClock(ctx.storage);
    void ctx.blockConcurrencyWhile(() => this.#alarm.load());
    this.#events = new EventOutbox(ctx.storage.sql, eventsConfig(env), `u${this.#userId}`, (at) => this.#armAlarm(at));
    this.#writes = new InboxWrites({
      ctx,
      stmts: this.#stmts,
      outbox: this.#outbox,
      events: this.#events,
      userId: this.#userId,
      armAlarm: (at) => this.#armAlarm(at),
      rideAlong: () => this.#peers.writeFoundReceivers(),
    });
    this.#peers = new Peers(env, this.#userId, this.#stmts);
    this.#rooms = new RoomSubscriptions(ctx, env, this.#userId);
  }

  /** Stores the token of one device (a new sign-in replaces that device's token only). */
  issueToken(deviceId: number, tokenHash: string, expiresAt: number, brandPushId = ""): void {
    this.#writes.transaction(() => {
      this.#stmts.putToken(deviceId, tokenHash, expiresAt);
      this.#stmts.upsertDevice(deviceId, brandPushId || null, Date.now());
    });
  }

  /** Records a device's vendor push id, named in message events while the device is offline. */
  setPushId(deviceId: number, brandPushId: string): void {
    this.#stmts.upsertDevice(deviceId, brandPushId, Date.now());
  }

  /** Checks a device's token. Fails with UNAUTHORIZED when missing, wrong or expired. */
  async authenticate(deviceId: number, token: string): Promise<Result<void>> {
    return toResult(() => checkToken(this.#stmts, deviceId, token));
  }

  /**
   * Sends for an authenticated device (gim LogicExt.SendMessage). `reqBytes` is an encoded
   * pb.SendMessageReq. Resolves the sender's seq (0 when not persisted).
   */
  async sendMessage(deviceId: number, reqBytes: Uint8Array): Promise<Result<number>> {
    return toResult(() => this.send(deviceId, decodeBinary(pb.SendMessageReq, reqBytes, "SendMessageReq")));
  }

  /**
   * Persists a send and its outbox rows, then starts delivery. Public for tests that stop an
   * object between the two steps; callers outside this class use sendMessage.
   */
  async send(deviceId: number, req: pb.SendMessageReq): Promise<number> {
    const seq = await this.persistSend(deviceId, req);
    if (seq > 0 && req.receiverType === pb.ReceiverType.RT_USER && req.receiverId !== this.#userId) {
      void this.#outbox.drain(req.receiverId).then((done) => done || this.#armAlarm(Date.now() + this.#retryDelay));
    }
    return seq;
  }

  /** Step one of a send: the sender's copy, its dedup record and its outbox row in one transaction. */
  persistSend(deviceId: number, req: pb.SendMessageReq): Promise<number> {
    if (req.receiverType === pb.ReceiverType.RT_USER) {
      this.#peers.lookAhead(req.receiverId);
    }
    const prepared = this.#sendChain.then(() => this.#prepareSend(deviceId, req));
    this.#sendChain = prepared.catch(() => undefined);
    return prepared.then((step) => step.seq);
  }

  /**
   * Applies copies sent by other objects, each exactly once (dedup by msg id), in the given
   * order, and pushes the new ones to the online devices. Resolves each item's seq in this inbox.
   * Deliveries that arrive together are applied in one transaction (one commit, not one each).
   */
  deliver(items: DeliveryItem[]): Promise<number[]> {
    return this.#writes.write({ kind: "deliver", items });
  }

  /** Pushes to a room for an authenticated device, this user as sender (gim LogicExt.PushRoom). */
  async pushRoom(deviceId: number, reqBytes: Uint8Array): Promise<Result<number>> {
    return toResult(() => this.pushToRoom(deviceId, decodeBinary(pb.PushRoomReq, reqBytes, "PushRoomReq")));
  }

  /** Pushes to a room with this user's profile as sender; resolves the room seq (0 if not kept). */
  async pushToRoom(deviceId: number, req: pb.PushRoomReq): Promise<number> {
    return this.#rooms.push(req, deviceId, await this.#peers.senderProfile(), this.#limits);
  }

  /** A room broadcast batch for this user's sockets subscribed to `roomId`; resolves how many are. */
  roomBatch(roomId: number, items: RoomItem[]): number {
    return this.#rooms.batch(roomId, items);
  }

  /** The room gave up delivering to this user's sockets subscribed to it (see ChatRoom). */
  roomLost(roomId: number): void {
    this.#rooms.lost(roomId);
  }

  /** gim's PT_SUBSCRIBE_ROOM on a device socket: one room per socket, 0 leaves, `fromSeq` replays. */
  subscribeRoom(ws: WebSocket, roomId: number, fromSeq: number): Promise<void> {
    return this.#rooms.subscribe(ws, roomId, fromSeq);
  }

  /** Pushes a message that is not persisted (is_persist=false) to the online devices but one. */
  pushTransient(body: Uint8Array, exceptDeviceId = 0): void {
    pushToDevices(this.ctx.getWebSockets(), [body], exceptDeviceId);
  }

  /** Whether a socket of this device is connected. */
  deviceOnline(deviceId: number): boolean {
    return this.ctx.getWebSockets(deviceTag(deviceId)).length > 0;
  }

  /** The seq of a message in this inbox, if it was applied. */
  seqOf(msgId: string): number | undefined {
    return this.#stmts.seqOfMessage(msgId);
  }

  /** Forgets the cached profile after the user changed it. */
  profileChanged(): void {
    this.#peers.forgetProfile();
  }

  /** Accepts a device WebSocket the Worker authenticated (device id in `x-gim-device-id`). */
  override async fetch(request: Request): Promise<Response> {
    const deviceId = Number(request.headers.get("x-gim-device-id"));
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !(deviceId > 0)) {
      return connectErrorResponse(ErrorCode.BAD_REQUEST, "expected an authenticated WebSocket upgrade");
    }
    const wasOffline = this.ctx.getWebSockets().length === 0;
    for (const old of this.ctx.getWebSockets(deviceTag(deviceId))) {
      closeWith(old, CloseCode.REPLACED, "replaced by a new connection of this device");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [deviceTag(deviceId)]);
    const now = Date.now();
    const format = new URL(request.url).searchParams.get("format") === "json" ? "json" : "binary";
    writeAttachment(server, { v: 1, deviceId, format, connectedAt: now, lastSeenAt: now });
    this.#writes.transaction(() => {
      this.#stmts.upsertDevice(deviceId, null, now);
      this.#events.add("device.online", { user_id: this.#userId, device_id: deviceId });
    });
    this.#events.kick();
    this.#armAlarm(now + this.#sweepIntervalMs());
    if (wasOffline) {
      await presence(this.env, this.#userId).online(this.#userId);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const attachment = readAttachment(ws);
    if (!attachment) {
      closeWith(ws, 1011, "socket state lost; reconnect");
      return;
    }
    try {
      await dispatchFrame(this, ws, attachment, frame);
    } catch (err) {
      console.error(`UserInbox:${this.#userId} webSocketMessage`, err);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Answer the close; 1005/1006 are reserved and cannot be sent back.
    closeWith(ws, code === 1005 || code === 1006 ? 1000 : code, "");
    await this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn(`UserInbox:${this.#userId} webSocketError`, error);
    await this.#socketGone(ws);
  }

  override async alarm(): Promise<void> {
    this.#alarm.fired();
    const now = Date.now();
    await this.#events.flush();
    const delivered = await this.#outbox.drainAll();
    this.#writes.transaction(() => this.#outbox.deleteDelivered());
    this.#retryDelay = delivered ? RETRY_MIN_MS : Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
    closeIdleSockets(this.ctx, this.#limits.IDLE_TIMEOUT_MS, now);
    if (!delivered) {
      this.#armAlarm(Date.now() + this.#retryDelay);
    }
    if (this.ctx.getWebSockets().length > 0) {
      this.#armAlarm(now + this.#sweepIntervalMs());
    }
  }

  // ---- used by dispatch.ts for socket packets ----

  get userId(): number {
    return this.#userId;
  }

  get limits(): Limits {
    return this.#limits;
  }

  /** Checks a device token: with the business server when one is configured, else locally. */
  async authenticateOrThrow(deviceId: number, token: string): Promise<void> {
    const business = businessConfig(this.env);
    if (business) {
      await new BusinessClient(business).auth(this.#userId, deviceId, token);
    } else {
      await checkToken(this.#stmts, deviceId, token);
    }
  }

  /** An encoded pb.SyncOutput of the messages after `seq` (0 = after the highest device ack). */
  syncPage(seq: number, limit: number): Uint8Array {
    return syncPage(this.#stmts, this.#limits, seq > 0 ? seq : this.#writes.maxAck(), limit, this.#writes.lastSeq);
  }

  /** Moves a device's ack forward (never back, never past the last seq). */
  ack(deviceId: number, seq: number): void {
    this.#writes.ack(deviceId, seq);
  }

  // ---- private helpers ----

  /** A socket closed: its device may be offline now, its room and maybe the user's presence end. */
  async #socketGone(ws: WebSocket): Promise<void> {
    const attachment = readAttachment(ws);
    const open = openSockets(this.ctx, ws);
    if (attachment && !open.some((other) => readAttachment(other)?.deviceId === attachment.deviceId)) {
      this.#events.add("device.offline", { user_id: this.#userId, device_id: attachment.deviceId });
      this.#events.kick();
    }
    try {
      await this.#rooms.closed(ws);
      if (open.length === 0) {
        await presence(this.env, this.#userId).offline(this.#userId);
      }
    } catch (err) {
      console.warn(`UserInbox:${this.#userId} could not report a closed socket`, err);
    }
  }

  /**
   * Checks and prepares a send; a persisted 1:1 send is then queued for the next write batch and
   * its seq comes later (wrapped, so the send chain moves on without waiting for the commit).
   */
  async #prepareSend(deviceId: number, req: pb.SendMessageReq): Promise<{ seq: Promise<number> }> {
    validateSend(req, this.#limits);
    // The write deduplicates by client message id inside its transaction. Looking earlier too
    // only matters when a business hook would otherwise see (and maybe refuse) a retry.
    const earlierCheck = Boolean(req.clientMsgId) && hasBeforeSendHook(this.env);
    const earlier = earlierCheck ? this.#stmts.sentSeq(req.clientMsgId) : undefined;
    if (earlier !== undefined) {
      return { seq: Promise.resolve(earlier) };
    }
    req.messageContent = await beforeSend(this.env, {
      senderId: this.#userId,
      deviceId,
      receiverType: req.receiverType,
      receiverId: req.receiverId,
      messageType: req.messageType,
      content: req.messageContent,
      clientMsgId: req.clientMsgId,
    });
    if (req.receiverType === pb.ReceiverType.RT_GROUP) {
      const seq = await this.#postToGroup(deviceId, req);
      if (earlierCheck && seq > 0) {
        // The group deduplicates retries itself; recorded here too, a retry skips the hook above.
        await this.#writes.write({ kind: "sentRecord", clientMsgId: req.clientMsgId, seq });
      }
      return { seq: Promise.resolve(seq) };
    }
    await this.#peers.requireUser(req.receiverId);
    const body = userMessageBody(req, this.#userId, deviceId, await this.#peers.senderProfile(), Date.now());
    if (!req.isPersist) {
      pushToDevices(this.ctx.getWebSockets(), [body], deviceId);
      if (req.receiverId !== this.#userId) {
        await userInbox(this.env, req.receiverId).pushTransient(body);
      }
      return { seq: Promise.resolve(0) };
    }
    const written = this.#writes.write({ kind: "send", deviceId, receiverId: req.receiverId, clientMsgId: req.clientMsgId, body });
    return { seq: written.then(([seq]) => seq as number) };
  }

  /**
   * A group send: the group object orders it, writes it with its fan-out record and applies the
   * sender's copy here (through deliver) before answering with that copy's seq. The group
   * deduplicates retries by (sender, client_msg_id) and answers the original seq.
   */
  async #postToGroup(deviceId: number, req: pb.SendMessageReq): Promise<number> {
    await this.#peers.requireGroup(req.receiverId);
    const body = userMessageBody(req, this.#userId, deviceId, await this.#peers.senderProfile(), Date.now());
    return unwrap(
      await groupChat(this.env, req.receiverId).post({ senderId: this.#userId, deviceId, clientMsgId: req.clientMsgId, body, persist: req.isPersist }),
    );
  }

  /** Delivers outbox rows to another inbox; a stub that failed is not used again. */
  async #deliverTo(userId: number, items: DeliveryItem[]): Promise<number[]> {
    let stub = this.#peerInboxes.get(userId);
    if (!stub) {
      stub = userInbox(this.env, userId);
      this.#peerInboxes.set(userId, stub);
    }
    try {
      return await stub.deliver(items);
    } catch (err) {
      this.#peerInboxes.delete(userId);
      throw err;
    }
  }

  #sweepIntervalMs(): number {
    return Math.max(Math.floor(this.#limits.IDLE_TIMEOUT_MS / 2), 1_000);
  }

  #armAlarm(at: number): void {
    this.#alarm.arm(at);
  }
}
