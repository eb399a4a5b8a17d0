/**
 * The client's outgoing messages: each keeps its client_msg_id until the server answers, and is
 * sent again (same id, so the server applies it once) on the next connection when the one it
 * went out on dropped first. Sends leave in the order they were made.
 */
import { pb } from "../../proto/gen/pb.js";
import { ClientErrorCode, GimError } from "./errors";
import type { Session } from "./http";

export interface SendResult {
  /** The seq of the sender's copy in the sender's inbox; 0 for is_persist=false. */
  seq: number;
  clientMsgId: string;
}

export interface PendingSend {
  readonly req: pb.SendMessageReq;
  resolve(result: SendResult): void;
  reject(err: GimError): void;
  timer: ReturnType<typeof setTimeout>;
  /** The connection it was last written to; null while waiting for one. */
  sentOn: object | null;
}

/** 128 random bits in hex; works where crypto.randomUUID is missing (plain-http pages). */
export function newClientMsgId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class SendQueue {
  readonly #items: PendingSend[] = [];
  readonly #onSettled: () => void;

  /** @param onSettled called after a send left the queue (answered, failed or timed out) */
  constructor(onSettled: () => void = () => undefined) {
    this.#onSettled = onSettled;
  }

  /** Queues a send; it fails with DEADLINE_EXCEEDED when not answered within `timeoutMs`. */
  add(req: pb.SendMessageReq, timeoutMs: number): { item: PendingSend; result: Promise<SendResult> } {
    let resolve!: (result: SendResult) => void;
    let reject!: (err: GimError) => void;
    const result = new Promise<SendResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const item: PendingSend = {
      req,
      resolve,
      reject,
      sentOn: null,
      timer: setTimeout(() => {
        if (this.settle(item)) {
          reject(new GimError(ClientErrorCode.DEADLINE_EXCEEDED, `message not sent within ${Math.round(timeoutMs / 1000)} s`));
        }
      }, timeoutMs),
    };
    this.#items.push(item);
    return { item, result };
  }

  /** Sends not written to `connection` yet, oldest first. */
  unsent(connection: object): PendingSend[] {
    return this.#items.filter((item) => item.sentOn !== connection);
  }

  /** Whether the send still waits for an answer. */
  has(item: PendingSend): boolean {
    return this.#items.includes(item);
  }

  /** Removes an answered (or failed) send; false when it was settled already. */
  settle(item: PendingSend): boolean {
    const index = this.#items.indexOf(item);
    if (index < 0) {
      return false;
    }
    this.#items.splice(index, 1);
    clearTimeout(item.timer);
    this.#onSettled();
    return true;
  }

  /** Fails every queued send (the client was closed). */
  failAll(err: GimError): void {
    for (const item of this.#items.splice(0)) {
      clearTimeout(item.timer);
      item.reject(err);
    }
  }

  get size(): number {
    return this.#items.length;
  }
}

/**
 * The message a device's own send became, built from the request and the reply's seq: the
 * sending device gets the reply instead of a push (proto/README.md "Sending").
 */
export function ownCopy(req: pb.SendMessageReq, seq: number, session: Session): pb.Message {
  return pb.Message.create({
    sender: { senderType: pb.SenderType.ST_USER, senderId: session.userId, deviceId: session.deviceId },
    receiverType: req.receiverType,
    receiverId: req.receiverId,
    toUserIds: req.toUserIds,
    messageType: req.messageType,
    messageContent: req.messageContent,
    seq,
    sendTime: req.sendTime > 0 ? req.sendTime : Date.now(),
    status: pb.MessageStatus.MS_NORMAL,
    clientMsgId: req.clientMsgId,
  });
}
