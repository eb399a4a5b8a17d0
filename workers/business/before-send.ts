/**
 * The optional moderation hook: before a message is persisted, BEFORE_SEND_URL may allow it,
 * rewrite its content or reject it. A hook that fails or times out lets the message through
 * ("open", the default) or refuses it ("closed"), as BEFORE_SEND_FAILURE says.
 */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import type { Env } from "../env";
import { signatureHeaders, verifySignature } from "./signing";

export interface OutgoingMessage {
  senderId: number;
  deviceId: number;
  receiverType: pb.ReceiverType;
  receiverId: number;
  messageType: pb.MessageType;
  content: Uint8Array;
  clientMsgId: string;
}

const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** True when a hook is configured, i.e. beforeSend calls the business server. */
export function hasBeforeSendHook(env: Env): boolean {
  return Boolean(env.BEFORE_SEND_URL);
}

/** Resolves the content to persist (maybe rewritten); throws AppError(MESSAGE_REJECTED | UNAVAILABLE). */
export async function beforeSend(env: Env, message: OutgoingMessage): Promise<Uint8Array> {
  const url = env.BEFORE_SEND_URL;
  const secret = env.BUSINESS_SECRET ?? "";
  if (!url) {
    return message.content;
  }
  if (!secret) {
    // Every call would fail its signature: with BEFORE_SEND_FAILURE=open nothing would be checked.
    throw new AppError(ErrorCode.UNAVAILABLE, "BEFORE_SEND_URL is set without BUSINESS_SECRET");
  }
  const body = new TextEncoder().encode(
    JSON.stringify({
      sender_id: message.senderId,
      device_id: message.deviceId,
      receiver_type: pb.ReceiverType[message.receiverType],
      receiver_id: message.receiverId,
      message_type: pb.MessageType[message.messageType],
      message_content: toBase64(message.content),
      client_msg_id: message.clientMsgId,
    }),
  );
  let verdict: { action?: string; message_content?: string; reason?: string };
  let rewritten: Uint8Array | null = null;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await signatureHeaders(secret, body)) },
      body,
      signal: AbortSignal.timeout(Number(env.BEFORE_SEND_TIMEOUT_MS ?? 1000)),
    });
    const answer = new Uint8Array(await res.arrayBuffer());
    if (!res.ok || !(await verifySignature(secret, res.headers, answer))) {
      throw new Error(`answered ${res.status}${res.ok ? " without a valid signature" : ""}`);
    }
    const parsed: unknown = JSON.parse(new TextDecoder().decode(answer));
    if (!parsed || typeof parsed !== "object") {
      throw new Error("answer is not a JSON object");
    }
    verdict = parsed as typeof verdict;
    if (verdict.action === "rewrite" && typeof verdict.message_content === "string") {
      rewritten = fromBase64(verdict.message_content); // an answer that is not base64 is a failure
    }
  } catch (err) {
    if (env.BEFORE_SEND_FAILURE === "closed") {
      throw new AppError(ErrorCode.UNAVAILABLE, "message moderation is unavailable; try again later", { cause: err });
    }
    console.warn("before-send hook failed; the message goes through (BEFORE_SEND_FAILURE=open)", err);
    return message.content;
  }
  if (verdict.action === "reject") {
    throw new AppError(ErrorCode.MESSAGE_REJECTED, verdict.reason ? `message rejected: ${verdict.reason}` : "message rejected");
  }
  return rewritten ?? message.content;
}
