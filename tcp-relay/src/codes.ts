/**
 * Close reasons of the relay and the few envelope codes it answers itself. Close codes follow
 * proto/README.md: 4000-4499 reconnect (with backoff), 4500-4999 terminal. The Worker's own
 * codes (IDLE_TIMEOUT, REPLACED, AUTH_FAILED) pass through unchanged.
 */
import { CloseCode, ErrorCode } from "../../proto/codes";

export const RelayClose = {
  /** The client closed, or left normally. */
  NORMAL: 1000,
  /** The relay is shutting down (SIGTERM drain): reconnect, a load balancer picks another instance. */
  DRAINING: 4001,
  /** The Worker cannot be reached, refused with a server error, or dropped the upstream socket. */
  UPSTREAM_UNAVAILABLE: 4003,
  /** The client did not read its socket: more than SLOW_CONSUMER_BYTES queued for SLOW_CONSUMER_SECONDS. */
  SLOW_CONSUMER: 4008,
  /** Nothing received from the client for IDLE_TIMEOUT_SECONDS (the Worker's code). */
  IDLE_TIMEOUT: CloseCode.IDLE_TIMEOUT,
  /** A frame started but not finished within READ_TIMEOUT_SECONDS, or no first packet in time. */
  READ_TIMEOUT: 4013,
  /** Too many connections or failed sign-ins from this address, or the instance is full. */
  RATE_LIMITED: 4029,
  /** Another connection of the same device took over (the Worker's code). */
  REPLACED: CloseCode.REPLACED,
  /** Sign-in refused (the Worker's code). */
  AUTH_FAILED: CloseCode.AUTH_FAILED,
  /** Undecodable stream: oversized frame, bad length prefix, first packet not a valid PT_SIGN_IN. */
  PROTOCOL_VIOLATION: 4502,
} as const;
export type RelayClose = (typeof RelayClose)[keyof typeof RelayClose];

/** Name of a close code for logs and metrics labels. */
export function closeName(code: number): string {
  for (const [name, value] of Object.entries(RelayClose)) {
    if (value === code) {
      return name;
    }
  }
  return code >= 4000 && code < 5000 ? `UPSTREAM_${code}` : `WS_${code}`;
}

/**
 * Codes the relay puts in `Output.code` itself. gRPC status numbers below 1000 (as gim), the
 * gim codes from proto/codes.ts above. RESOURCE_EXHAUSTED and CANCELLED are not in the shared
 * registry yet (see README).
 */
export const RelayError = {
  CANCELLED: 1,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: ErrorCode.INTERNAL,
  UNAVAILABLE: ErrorCode.UNAVAILABLE,
  UNAUTHORIZED: ErrorCode.UNAUTHORIZED,
  BAD_REQUEST: ErrorCode.BAD_REQUEST,
  FRAME_TOO_LARGE: ErrorCode.FRAME_TOO_LARGE,
} as const;

/**
 * The close code a client sees when the Worker closes its upstream socket: the Worker's
 * application codes and a normal close pass through; transport failures (1001, 1006, 1011, …)
 * become UPSTREAM_UNAVAILABLE, i.e. "reconnect with backoff".
 */
export function clientCloseFor(upstreamCode: number): number {
  return upstreamCode === 1000 || (upstreamCode >= 4000 && upstreamCode < 5000) ? upstreamCode : RelayClose.UPSTREAM_UNAVAILABLE;
}

/** WebSocket close reasons are limited to 123 bytes. */
export function clampReason(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= 123 ? reason : bytes.subarray(0, 120).toString().replace(/\uFFFD+$/, "") + "...";
}
