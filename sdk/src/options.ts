/** The client's options and their defaults, and the shapes `send` takes. */
import type { pb } from "../../proto/gen/pb.js";
import type { Session } from "./http";
import type { SeqStore } from "./seq-store";
import type { Connector, WebSocketConstructor } from "./transport";

export interface GimClientOptions {
  /** Origin of the server, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  session?: Session | null;
  /** Browsers and Node 22 have one; on Node 20 pass the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Replaces the WebSocket transport (e.g. the CLI's TCP relay transport). */
  connector?: Connector;
  /** Where the last seq is kept: localStorage in browsers, memory elsewhere. */
  seqStore?: SeqStore;
  /** Messages per sync page (the server caps it at 500). */
  syncPageSize?: number;
  /** An ack waits this long to cover more messages… */
  ackDelayMs?: number;
  /** …or until this many messages are unacknowledged. */
  ackEveryMessages?: number;
  /** Heartbeat interval: a text `ping` on WebSockets, PT_HEARTBEAT elsewhere. */
  heartbeatMs?: number;
  /** Nothing received for heartbeatMs + this: the connection is dead, reconnect. */
  heartbeatTimeoutMs?: number;
  /** Timeout of HTTP calls and socket requests. */
  requestTimeoutMs?: number;
  /** A send not answered within this fails (it may still have arrived: retry with its clientMsgId). */
  sendTimeoutMs?: number;
  /** Reconnect delays grow from min to max (doubling, with jitter). */
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_OPTIONS = {
  syncPageSize: 200,
  ackDelayMs: 300,
  ackEveryMessages: 100,
  heartbeatMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  sendTimeoutMs: 60_000,
  reconnectMinDelayMs: 500,
  reconnectMaxDelayMs: 30_000,
};

export type ResolvedOptions = typeof DEFAULT_OPTIONS & GimClientOptions;

/** What `send` takes: a SendMessageReq whose content may be given as `text` (MT_TEXT). */
export interface SendInput extends Omit<pb.ISendMessageReq, "messageContent"> {
  receiverType: pb.ReceiverType;
  receiverId: number;
  text?: string;
  messageContent?: Uint8Array;
}

export type Target = { userId: number } | { groupId: number };

/** The reconnect delay before attempt `attempt` (0-based): doubling, capped, half of it random. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random()): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
