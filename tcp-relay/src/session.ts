/**
 * Session: one client connection (TCP or WebSocket) bridged to one upstream WebSocket of the
 * user's inbox (and, while subscribed, one room socket). It reads only envelope headers:
 * PT_SIGN_IN first, PT_HEARTBEAT answered here, PT_SUBSCRIBE_ROOM served on the room path;
 * everything else passes through as bytes. Every exit goes through close().
 */
import { clampReason, clientCloseFor, closeName, RelayClose, RelayError } from "./codes";
import { codeForStatus, type RelayContext } from "./context";
import { decodeInput, decodeOutput, decodeSignIn, decodeSubscribeRoom, encodeOutput, PT, type pb } from "./envelope";
import { FrameError } from "./framing";
import type { ClientLink } from "./links";
import type { ListenerCounters } from "./metrics";
import { RoomLink, type Credentials } from "./room";
import { Upstream } from "./upstream";

type State = "sign-in" | "connecting" | "open" | "closing" | "closed";

/** Numbers the connections of this process: a registry entry names the one that wrote it. */
let connections = 0;

export class Session {
  state: State = "sign-in";
  readonly createdAt = Date.now();
  lastClientAt = Date.now();
  /** The device, once the Worker accepted the sign-in (held in the registry). */
  deviceId = 0;
  #closingSince = 0;
  readonly #holder = `c${++connections}`;
  #credentials: Credentials | null = null;
  #signInRequestId = 0;
  #upstream: Upstream | null = null;
  #room: RoomLink | null = null;
  /** Frames the client sent while the upstream was opening. */
  #queue: Buffer[] = [];
  /**
   * Upstream reading paused because more than SLOW_CONSUMER_BYTES (the link's high-water mark)
   * wait for the client; resumed when its queue drains. Paused too long = slow consumer.
   */
  #paused = false;
  #pausedSince = 0;
  readonly #counters: ListenerCounters;

  constructor(
    readonly ctx: RelayContext,
    readonly link: ClientLink,
    readonly onFinished: (session: Session) => void,
  ) {
    this.#counters = ctx.metrics.listeners[link.listener];
    this.#counters.connectionsTotal++;
    this.#counters.connectionsOpen++;
    link.handlers = {
      frame: (body) => this.#onClientFrame(body),
      activity: () => (this.lastClientAt = Date.now()),
      invalid: (err) => this.#onInvalid(err),
      drain: () => this.#onClientDrain(),
      gone: () => this.#onClientGone(),
    };
  }

  /** Checks this connection's deadlines; called by the relay's one ticker. */
  tick(now: number): void {
    const { config } = this.ctx;
    if (this.state === "closing") {
      if (now - this.#closingSince >= config.closeGraceMs) {
        this.link.destroy();
      }
      return;
    }
    if (this.state === "sign-in" && now - this.createdAt >= config.signInTimeoutMs) {
      return this.close(RelayClose.READ_TIMEOUT, `no PT_SIGN_IN within ${config.signInTimeoutMs / 1000} s`);
    }
    if (this.link.partialSince > 0 && now - this.link.partialSince >= config.readTimeoutMs) {
      return this.close(RelayClose.READ_TIMEOUT, `unfinished frame for ${config.readTimeoutMs / 1000} s`);
    }
    if (now - this.lastClientAt >= config.idleTimeoutMs) {
      return this.close(RelayClose.IDLE_TIMEOUT, `idle timeout: nothing received for ${config.idleTimeoutMs / 1000} s`);
    }
    if (this.#paused && now - this.#pausedSince >= config.slowConsumerMs) {
      return this.close(RelayClose.SLOW_CONSUMER, `slow consumer: over ${config.slowConsumerBytes} bytes unread for ${config.slowConsumerMs / 1000} s`);
    }
    if (this.state === "open") {
      const alive = (this.#upstream?.keepAlive(now, config.upstreamPingMs) ?? true) && (this.#room?.upstream?.keepAlive(now, config.upstreamPingMs) ?? true);
      if (!alive) {
        this.close(RelayClose.UPSTREAM_UNAVAILABLE, "upstream stopped answering pings");
      }
    }
  }

  /**
   * The single exit: closes the upstream sockets with 1000, releases the device, and ends the
   * client with `code` (TCP: a close-notice Output, then FIN; WS: a close frame).
   */
  close(code: number, reason: string, clientGone = false): void {
    if (this.state === "closing" || this.state === "closed") {
      return;
    }
    this.state = "closing";
    this.#closingSince = Date.now();
    this.#queue = [];
    this.#upstream?.close(1000, clientGone ? "client gone" : clampReason(reason));
    this.#room?.close("connection closed");
    if (this.deviceId) {
      void this.ctx.store.releaseDevice(this.deviceId, this.#holder);
    }
    this.ctx.metrics.closed(this.link.listener, closeName(code));
    this.ctx.log.debug("connection closed", { listener: this.link.listener, address: this.link.remoteAddress, code, reason, deviceId: this.deviceId });
    if (clientGone) {
      this.#finish();
    } else {
      this.link.close(code, reason);
    }
  }

  /** Replies with an error Output, then closes. */
  #fail(reply: pb.IOutput, closeCode: number, errorKind: string): void {
    this.ctx.metrics.error(this.link.listener, errorKind);
    this.#send(encodeOutput(reply));
    this.close(closeCode, reply.message ?? errorKind);
  }

  #onClientFrame(body: Buffer): void {
    this.lastClientAt = Date.now();
    this.#counters.framesIn++;
    this.#counters.bytesIn += body.length;
    if (this.state === "open") {
      this.#dispatch(body);
    } else if (this.state === "connecting") {
      this.#queue.push(body);
    } else if (this.state === "sign-in") {
      void this.#signIn(body);
    }
  }

  async #signIn(body: Buffer): Promise<void> {
    const input = decodeInput(body);
    if (!input) {
      return this.#fail({ type: PT.PT_UNKNOWN, code: RelayError.BAD_REQUEST, message: "first packet is not a valid pb.Input" }, RelayClose.PROTOCOL_VIOLATION, "bad_first_packet");
    }
    const header = { type: input.type, requestId: input.requestId };
    if (input.type !== PT.PT_SIGN_IN) {
      return this.#fail({ ...header, code: RelayError.UNAUTHORIZED, message: "sign in first: the first packet must be PT_SIGN_IN" }, RelayClose.PROTOCOL_VIOLATION, "bad_first_packet");
    }
    const signIn = decodeSignIn(input.data);
    if (!signIn || !(signIn.userId > 0) || !(signIn.deviceId > 0) || !signIn.token) {
      return this.#fail({ ...header, code: RelayError.UNAUTHORIZED, message: "PT_SIGN_IN needs user_id, device_id and token" }, RelayClose.AUTH_FAILED, "bad_sign_in");
    }
    this.state = "connecting";
    this.link.pause();
    this.#credentials = { userId: signIn.userId, deviceId: signIn.deviceId, token: signIn.token };
    this.#signInRequestId = input.requestId;
    const { config, store } = this.ctx;
    if (config.failedSignInsPerIp > 0 && (await store.count("signin-fail", this.link.remoteAddress)) >= config.failedSignInsPerIp) {
      const message = "too many failed sign-ins from this address; retry later";
      return this.#fail({ ...header, code: RelayError.RESOURCE_EXHAUSTED, message }, RelayClose.RATE_LIMITED, "rate_limited_sign_in");
    }
    if (this.state !== "connecting") {
      return;
    }
    this.#openUpstream(body, header);
  }

  #openUpstream(signInFrame: Buffer, header: { type: pb.PackageType; requestId: number }): void {
    const { userId, deviceId, token } = this.#credentials as Credentials;
    const query = new URLSearchParams({ user_id: String(userId), device_id: String(deviceId), token });
    const headers = { "x-forwarded-for": this.link.remoteAddress, "x-gim-relay": this.ctx.config.instanceId };
    this.#upstream = new Upstream(`${this.ctx.upstreamBase}/ws?${query}`, { ...this.ctx.upstreamOptions, headers }, {
      open: () => {
        this.state = "open";
        this.#upstream?.send(signInFrame);
        const queued = this.#queue;
        this.#queue = [];
        queued.forEach((frame) => this.state === "open" && this.#dispatch(frame));
        if (!this.#upstream?.congested) {
          this.link.resume();
        }
      },
      refused: (status, body) => {
        const message = body?.message ?? `sign-in refused: HTTP ${status}`;
        const refusedAuth = status === 401 || status === 403;
        if (refusedAuth) {
          void this.ctx.store.hit("signin-fail", this.link.remoteAddress);
        }
        const closeCode = refusedAuth ? RelayClose.AUTH_FAILED : status === 429 ? RelayClose.RATE_LIMITED : RelayClose.UPSTREAM_UNAVAILABLE;
        this.#fail({ ...header, code: body?.gimCode ?? codeForStatus(status), message }, closeCode, "upstream_refused");
      },
      failed: (err) => {
        this.ctx.warnEvery("upstream_failed", "upstream connect failed", { err, address: this.link.remoteAddress });
        this.#fail({ ...header, code: RelayError.UNAVAILABLE, message: `upstream unavailable: ${err.message}` }, RelayClose.UPSTREAM_UNAVAILABLE, "upstream_failed");
      },
      message: (data, isBinary) => isBinary && this.#onUpstreamFrame(data),
      closed: (code, reason) => this.close(clientCloseFor(code), `upstream closed (${code})${reason ? `: ${reason}` : ""}`),
      drain: () => this.state === "open" && this.link.resume(),
    });
  }

  /** A client envelope after sign-in: answered here, served on the room path, or forwarded. */
  #dispatch(body: Buffer): void {
    const input = decodeInput(body);
    if (input?.type === PT.PT_HEARTBEAT) {
      this.#counters.heartbeatsAnswered++;
      this.#send(encodeOutput({ type: PT.PT_HEARTBEAT, requestId: input.requestId }));
      return;
    }
    if (input?.type === PT.PT_SUBSCRIBE_ROOM) {
      const req = decodeSubscribeRoom(input.data);
      if (!req || req.roomId < 0 || req.seq < 0) {
        this.#send(encodeOutput({ type: input.type, requestId: input.requestId, code: RelayError.BAD_REQUEST, message: "SubscribeRoomInput needs room_id >= 0 and seq >= 0" }));
        return;
      }
      this.#rooms().subscribe(req.roomId, req.seq, input.requestId);
      return;
    }
    if (this.#upstream && !this.#upstream.send(body)) {
      this.link.pause();
    }
  }

  #rooms(): RoomLink {
    const headers = { "x-forwarded-for": this.link.remoteAddress, "x-gim-relay": this.ctx.config.instanceId };
    this.#room ??= new RoomLink(this.ctx, this.#credentials as Credentials, {
      reply: (output) => this.#send(encodeOutput(output)),
      forward: (data) => this.#send(data),
      isPaused: () => this.#paused,
    }, headers);
    return this.#room;
  }

  #onUpstreamFrame(data: Buffer): void {
    if (this.state !== "open") {
      return;
    }
    if (!this.deviceId) {
      this.#watchSignInReply(data);
    }
    this.#send(data);
  }

  /** The Worker's answer to the forwarded PT_SIGN_IN decides registry entry or failure count. */
  #watchSignInReply(data: Buffer): void {
    const out = decodeOutput(data);
    if (out?.type !== PT.PT_SIGN_IN || out.requestId !== this.#signInRequestId) {
      return;
    }
    const credentials = this.#credentials as Credentials;
    if (out.code === 0) {
      this.deviceId = credentials.deviceId;
      void this.ctx.store.registerDevice(credentials.deviceId, credentials.userId, this.#holder);
    } else {
      void this.ctx.store.hit("signin-fail", this.link.remoteAddress);
    }
  }

  /** Writes an envelope to the client; pauses the upstream sockets when the client falls behind. */
  #send(data: Uint8Array): void {
    if (this.state === "closing" || this.state === "closed") {
      return;
    }
    if (!this.link.canSend(data.length)) {
      const out = decodeOutput(data);
      const message = `envelope of ${data.length} bytes does not fit a 2-byte frame; sync with a smaller limit or use varint framing`;
      this.ctx.metrics.error(this.link.listener, "reply_too_large");
      data = encodeOutput({ type: out?.type ?? PT.PT_UNKNOWN, requestId: out?.requestId ?? 0, code: RelayError.FRAME_TOO_LARGE, message });
    }
    this.#counters.framesOut++;
    this.#counters.bytesOut += data.length;
    if (this.link.send(data)) {
      return;
    }
    if (this.link.buffered > this.ctx.config.maxBufferedBytes) {
      this.close(RelayClose.SLOW_CONSUMER, `slow consumer: over ${this.ctx.config.maxBufferedBytes} bytes unread`);
      return;
    }
    if (!this.#paused) {
      this.#paused = true;
      this.#pausedSince = Date.now();
      this.#counters.upstreamPauses++;
      this.#upstream?.pause();
      this.#room?.upstream?.pause();
    }
  }

  #onClientDrain(): void {
    if (this.#paused && this.state !== "closing") {
      this.#paused = false;
      this.#upstream?.resume();
      this.#room?.upstream?.resume();
    }
  }

  #onInvalid(err: Error): void {
    if (this.state === "closing" || this.state === "closed") {
      return;
    }
    if (err instanceof FrameError) {
      const code = err.kind === "too-large" ? RelayError.FRAME_TOO_LARGE : RelayError.BAD_REQUEST;
      this.link.pause();
      this.#fail({ type: PT.PT_UNKNOWN, code, message: err.message }, RelayClose.PROTOCOL_VIOLATION, err.kind === "too-large" ? "frame_too_large" : "bad_frame_header");
      return;
    }
    this.lastClientAt = Date.now();
    this.ctx.metrics.error(this.link.listener, "bad_frame");
    this.#send(encodeOutput({ type: PT.PT_UNKNOWN, code: RelayError.BAD_REQUEST, message: err.message }));
  }

  #onClientGone(): void {
    if (this.state === "closing") {
      this.#finish();
    } else if (this.state !== "closed") {
      this.close(RelayClose.NORMAL, "client closed", true);
    }
  }

  #finish(): void {
    if (this.state === "closed") {
      return;
    }
    this.state = "closed";
    this.#counters.connectionsOpen--;
    this.link.handlers = null;
    this.onFinished(this);
  }
}
