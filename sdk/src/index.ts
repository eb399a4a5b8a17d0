/**
 * gim on the edge, TypeScript SDK: `GimClient` (connection, resume, sends, rooms, events),
 * `HttpApi` (typed Connect calls), content helpers, and the generated `pb` types.
 */
export { pb } from "../../proto/gen/pb.js";
export { GimClient } from "./client";
export { Connection, LocalClose, type ConnectionOptions } from "./connection";
export {
  decodeCommand,
  decodeContent,
  describeContent,
  describeNotification,
  textContent,
  type MessageContent,
  type Notification,
  type PushPayload,
} from "./content";
export { ClientErrorCode, CloseCode, ErrorCode, GimError } from "./errors";
export type { ClosedEvent, ConnectionState, GimEvents, NotificationEvent, StateEvent, SyncProgress } from "./events";
export { HttpApi, type HttpApiOptions, type Session } from "./http";
export { InboxCursor, type CursorHooks } from "./inbox-cursor";
export { backoffDelay, DEFAULT_OPTIONS, type GimClientOptions, type SendInput, type Target } from "./options";
export type { JoinRoomOptions } from "./room";
export { newClientMsgId, type SendResult } from "./sends";
export { defaultSeqStore, MemorySeqStore, WebStorageSeqStore, type KeyValueStorage, type SeqStore } from "./seq-store";
export {
  webSocketConnector,
  type Connector,
  type Transport,
  type TransportHandlers,
  type WebSocketConnectorOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./transport";

/** The SDK's version, sent as `sdk_version` by the web page and the CLI. */
export const SDK_VERSION = "0.1.0";
