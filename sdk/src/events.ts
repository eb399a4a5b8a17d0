/** The client's event types. */
import type { pb } from "../../proto/gen/pb.js";
import type { Notification } from "./content";
import type { GimError } from "./errors";

/**
 * idle: never connected · connecting: opening a transport · syncing: connected, catching up ·
 * online: caught up, live · reconnecting: waiting for the next attempt · closed: stopped.
 */
export type ConnectionState = "idle" | "connecting" | "syncing" | "online" | "reconnecting" | "closed";

export interface StateEvent {
  state: ConnectionState;
  /** Failed attempts since the client was last online. */
  attempt: number;
  /** "reconnecting": the next attempt starts in this many ms. */
  retryInMs?: number;
  /** The close code that ended the previous connection, when there was one. */
  code?: number;
}

export interface SyncProgress {
  /** The seq this sync started from. */
  fromSeq: number;
  lastSeq: number;
  /** Messages received by this sync so far. */
  received: number;
  hasMore: boolean;
}

export interface ClosedEvent {
  code: number;
  reason: string;
  /** Closed for good: 4500 (another connection of this device took over) or 4501 (sign in again). */
  terminal: boolean;
}

export interface NotificationEvent extends Notification {
  message: pb.Message;
}

export interface GimEvents {
  state: StateEvent;
  /** Inbox messages: each persisted one once, in seq order, this device's own sends included. */
  message: pb.Message;
  /** MT_COMMAND messages, decoded (each is also a "message"). */
  notification: NotificationEvent;
  /** Messages of the room joined with joinRoom. */
  roomMessage: pb.Message;
  syncProgress: SyncProgress;
  synced: { lastSeq: number; received: number };
  closed: ClosedEvent;
  /** Failures that belong to no call: a failed sync page, a server notice. */
  error: GimError;
}
