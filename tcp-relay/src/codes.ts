/**
 * Close reasons of the relay and the few envelope codes it answers itself. Every number is in the
 * shared registry (proto/codes.ts, documented in proto/README.md): 4000-4499 reconnect (with
 * backoff), 4500-4999 terminal. The Worker's own codes (IDLE_TIMEOUT, REPLACED, AUTH_FAILED)
 * pass through unchanged.
 */
import { CloseCode, ErrorCode } from "../../proto/codes";

export const RelayClose = {
  /** The client closed, or left normally. */
  NORMAL: 1000,
  DRAINING: CloseCode.DRAINING,
  UPSTREAM_UNAVAILABLE: CloseCode.UPSTREAM_UNAVAILABLE,
  SLOW_CONSUMER: CloseCode.SLOW_CONSUMER,
  IDLE_TIMEOUT: CloseCode.IDLE_TIMEOUT,
  READ_TIMEOUT: CloseCode.READ_TIMEOUT,
  RATE_LIMITED: CloseCode.RATE_LIMITED,
  REPLACED: CloseCode.REPLACED,
  AUTH_FAILED: CloseCode.AUTH_FAILED,
  PROTOCOL_VIOLATION: CloseCode.PROTOCOL_VIOLATION,
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

/** Codes the relay puts in `Output.code` itself, from the shared registry (proto/codes.ts). */
export const RelayError = {
  CANCELLED: ErrorCode.CANCELLED,
  RESOURCE_EXHAUSTED: ErrorCode.RESOURCE_EXHAUSTED,
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
