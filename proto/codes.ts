/** Error and close code registry shared by the Worker, the Durable Objects and clients. */

/**
 * Numeric codes carried in `Output.code` and in the `gimCode` field of Connect error bodies.
 * 0 is OK; values below 1000 are gRPC status codes (as gim); 10000+ are gim's business codes,
 * with gim's own numbers kept and additions taking unused ones.
 */
export const ErrorCode = {
  OK: 0,
  /** The request was superseded (the relay: a later PT_SUBSCRIBE_ROOM replaced this one). */
  CANCELLED: 1,
  /** Too many requests: the relay's limit of failed sign-ins or connections per address. */
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHORIZED: 10000,
  BAD_REQUEST: 10001,
  FRAME_TOO_LARGE: 10002,
  UNKNOWN_PACKET_TYPE: 10003,
  BAD_CODE: 10010,
  NOT_IN_GROUP: 10011,
  NOT_GROUP_ADMIN: 10012,
  GROUP_NOT_EXIST: 10013,
  DEVICE_NOT_EXIST: 10014,
  ALREADY_FRIEND: 10015,
  USER_NOT_FOUND: 10016,
  FRIEND_REQUEST_NOT_FOUND: 10017,
  SIGN_IN_DISABLED: 10018,
  GROUP_FULL: 10019,
  MESSAGE_REJECTED: 10020,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

interface CodeInfo {
  /** Connect protocol code name (https://connectrpc.com/docs/protocol#error-codes). */
  connect: string;
  httpStatus: number;
}

const CODE_INFO: Record<ErrorCode, CodeInfo> = {
  [ErrorCode.OK]: { connect: "ok", httpStatus: 200 },
  [ErrorCode.CANCELLED]: { connect: "canceled", httpStatus: 499 },
  [ErrorCode.RESOURCE_EXHAUSTED]: { connect: "resource_exhausted", httpStatus: 429 },
  [ErrorCode.UNIMPLEMENTED]: { connect: "unimplemented", httpStatus: 501 },
  [ErrorCode.INTERNAL]: { connect: "internal", httpStatus: 500 },
  [ErrorCode.UNAVAILABLE]: { connect: "unavailable", httpStatus: 503 },
  [ErrorCode.UNAUTHORIZED]: { connect: "unauthenticated", httpStatus: 401 },
  [ErrorCode.BAD_REQUEST]: { connect: "invalid_argument", httpStatus: 400 },
  [ErrorCode.FRAME_TOO_LARGE]: { connect: "resource_exhausted", httpStatus: 429 },
  [ErrorCode.UNKNOWN_PACKET_TYPE]: { connect: "unimplemented", httpStatus: 501 },
  [ErrorCode.BAD_CODE]: { connect: "unauthenticated", httpStatus: 401 },
  [ErrorCode.NOT_IN_GROUP]: { connect: "permission_denied", httpStatus: 403 },
  [ErrorCode.NOT_GROUP_ADMIN]: { connect: "permission_denied", httpStatus: 403 },
  [ErrorCode.GROUP_NOT_EXIST]: { connect: "not_found", httpStatus: 404 },
  [ErrorCode.DEVICE_NOT_EXIST]: { connect: "not_found", httpStatus: 404 },
  [ErrorCode.ALREADY_FRIEND]: { connect: "already_exists", httpStatus: 409 },
  [ErrorCode.USER_NOT_FOUND]: { connect: "not_found", httpStatus: 404 },
  [ErrorCode.FRIEND_REQUEST_NOT_FOUND]: { connect: "not_found", httpStatus: 404 },
  [ErrorCode.SIGN_IN_DISABLED]: { connect: "failed_precondition", httpStatus: 400 },
  [ErrorCode.GROUP_FULL]: { connect: "resource_exhausted", httpStatus: 429 },
  [ErrorCode.MESSAGE_REJECTED]: { connect: "permission_denied", httpStatus: 403 },
};

/** Connect code name and HTTP status of an error code; unknown codes map to `internal`. */
export function codeInfo(code: number): CodeInfo {
  return CODE_INFO[code as ErrorCode] ?? { connect: "internal", httpStatus: 500 };
}

/**
 * WebSocket close codes of the Worker and of the TCP relay (which sends the same numbers to TCP
 * clients in its logs and metrics, and as close codes on its WebSocket listener).
 * 4000-4499: the client should reconnect (with backoff); 4500-4999: terminal, reconnecting with
 * the same credentials will fail the same way. Reasons stay under 123 bytes (the WebSocket limit).
 */
export const CloseCode = {
  /** Relay: the instance is shutting down (SIGTERM drain); reconnect, to another instance. */
  DRAINING: 4001,
  /** Relay: the Worker cannot be reached, refused with a server error, or dropped the socket. */
  UPSTREAM_UNAVAILABLE: 4003,
  /** Relay: the client did not read its socket (too many bytes queued for too long). */
  SLOW_CONSUMER: 4008,
  /** Closed by the idle timeout: nothing received for IDLE_TIMEOUT_SECONDS. */
  IDLE_TIMEOUT: 4012,
  /** Relay: a frame started but not finished in time, or no first packet in time. */
  READ_TIMEOUT: 4013,
  /** Relay: too many connections or failed sign-ins from this address, or the instance is full. */
  RATE_LIMITED: 4029,
  /** Another connection of the same device replaced this one. Do not reconnect automatically. */
  REPLACED: 4500,
  /** The credentials are missing, forged, expired or were replaced by a new sign-in. */
  AUTH_FAILED: 4501,
  /** Relay: undecodable stream (oversized frame, bad length prefix, first packet not PT_SIGN_IN). */
  PROTOCOL_VIOLATION: 4502,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
