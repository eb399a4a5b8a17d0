/**
 * InboxStream: the user's inbox over the live connection. Drives InboxCursor (sync pages,
 * pushes, own sends), emits messages and notifications, reports sync progress, and batches acks,
 * saving the acknowledged seq in the SeqStore.
 */
import { pb } from "../../proto/gen/pb.js";
import type { Connection } from "./connection";
import { decodeCommand } from "./content";
import type { Emitter } from "./emitter";
import { ErrorCode, GimError } from "./errors";
import type { GimEvents } from "./events";
import { InboxCursor } from "./inbox-cursor";
import type { SeqStore } from "./seq-store";

export interface InboxOptions {
  syncPageSize: number;
  ackDelayMs: number;
  ackEveryMessages: number;
}

export interface InboxHooks {
  /** A sync finished (after a connect, or after a gap). */
  synced(): void;
  /** A sync page failed on `conn`: the client drops the connection and reconnects. */
  syncFailed(conn: Connection, err: unknown): void;
  /** Own sends not answered yet. */
  sendsInFlight(): number;
}

export class InboxStream {
  readonly #cursor: InboxCursor;
  readonly #events: Emitter<GimEvents>;
  readonly #store: SeqStore;
  readonly #userId: number;
  readonly #options: InboxOptions;
  readonly #hooks: InboxHooks;
  #conn: Connection | null = null;
  #ackedSeq = 0;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #sync = { fromSeq: 0, received: 0 };

  constructor(userId: number, lastSeq: number, deps: { events: Emitter<GimEvents>; store: SeqStore; options: InboxOptions; hooks: InboxHooks }) {
    this.#userId = userId;
    this.#events = deps.events;
    this.#store = deps.store;
    this.#options = deps.options;
    this.#hooks = deps.hooks;
    this.#cursor = new InboxCursor(lastSeq, {
      deliver: (messages) => this.#deliver(messages),
      requestSync: (seq) => this.#requestSync(seq),
      synced: (seq) => {
        this.flushAck();
        this.#events.emit("synced", { lastSeq: seq, received: this.#sync.received });
        this.#hooks.synced();
      },
      sendsInFlight: () => this.#hooks.sendsInFlight(),
    });
  }

  get lastSeq(): number {
    return this.#cursor.lastSeq;
  }

  get userId(): number {
    return this.#userId;
  }

  /** A connection is up: sync from the last seq over it. */
  start(conn: Connection): void {
    this.#conn = conn;
    this.#sync = { fromSeq: this.lastSeq, received: 0 };
    this.#cursor.start();
  }

  /** The connection is gone. */
  stop(): void {
    this.#conn = null;
    this.#cursor.stop();
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  /** A pushed message, or this device's own send built from the send reply. */
  push(message: pb.Message): void {
    this.#cursor.push(message);
  }

  /** An own send was answered or failed. */
  sendSettled(): void {
    this.#cursor.settle();
  }

  /** Delivers a transient (seq 0) message that came before the connection's sync started. */
  deliverTransient(message: pb.Message): void {
    this.#deliver([message]);
  }

  /** Acks the last seq now (when connected) and stores it. */
  flushAck(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const seq = this.lastSeq;
    if (!this.#conn || seq <= this.#ackedSeq) {
      return;
    }
    this.#conn.notify(pb.PackageType.PT_MESSAGE, pb.MessageACK.encode({ deviceAck: seq, receiveTime: Date.now() }).finish());
    this.#ackedSeq = seq;
    void Promise.resolve()
      .then(() => this.#store.save(this.#userId, seq))
      .catch(() => undefined);
  }

  #requestSync(seq: number): void {
    const conn = this.#conn;
    if (!conn) {
      return;
    }
    const input = pb.SyncInput.encode({ seq, limit: this.#options.syncPageSize }).finish();
    conn.request(pb.PackageType.PT_SYNC, input).then(
      (output) => {
        if (conn !== this.#conn) {
          return;
        }
        const page = pb.SyncOutput.decode(output.data);
        // pbts types repeated fields by interface; decode builds pb.Message instances.
        const messages = page.messages as pb.Message[];
        this.#sync.received += messages.length;
        const { fromSeq, received } = this.#sync;
        const lastSeq = messages.reduce((max, m) => Math.max(max, m.seq), this.lastSeq);
        // Progress first: the page's messages and, on the last page, "synced" follow.
        this.#events.emit("syncProgress", { fromSeq, lastSeq, received, hasMore: page.hasMore });
        this.#cursor.syncPage(messages, page.hasMore, Number(page.lastSeq));
      },
      (err: unknown) => {
        if (conn === this.#conn) {
          this.#hooks.syncFailed(conn, err instanceof GimError ? err : new GimError(ErrorCode.INTERNAL, String(err)));
        }
      },
    );
  }

  #deliver(messages: pb.Message[]): void {
    for (const message of messages) {
      this.#events.emit("message", message);
      if (message.messageType === pb.MessageType.MT_COMMAND) {
        this.#events.emit("notification", { ...decodeCommand(message.messageContent), message });
      }
    }
    this.#scheduleAck();
  }

  #scheduleAck(): void {
    const unacked = this.lastSeq - this.#ackedSeq;
    if (unacked >= this.#options.ackEveryMessages) {
      this.flushAck();
    } else if (unacked > 0 && this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(() => this.flushAck(), this.#options.ackDelayMs);
    }
  }
}
