/** Limits and timeouts, read once from the Worker's variables with defaults and bounds. */

export interface Limits {
  /** Largest inbound WebSocket frame or HTTP body accepted. */
  MAX_FRAME_BYTES: number;
  /** Default messages per sync page. */
  SYNC_PAGE_LIMIT: number;
  /** Hard cap of messages per sync page, whatever the client asks. */
  SYNC_PAGE_MAX: number;
  /**
   * A sync reply stops growing at this size: gim's 64 KiB cap, less room for the envelope, so the
   * whole reply also fits one gim TCP frame (2-byte length, at most 65,535 bytes) through the relay.
   */
  SYNC_REPLY_MAX_BYTES: number;
  /** A socket that sent nothing (not even a ping) for this long is closed. */
  IDLE_TIMEOUT_MS: number;
  /** Lifetime of a sign-in token. */
  TOKEN_TTL_MS: number;
}

export interface LimitVars {
  MAX_FRAME_BYTES?: string;
  SYNC_PAGE_LIMIT?: string;
  IDLE_TIMEOUT_SECONDS?: string;
  TOKEN_TTL_DAYS?: string;
}

function intVar(value: string | undefined, fallback: number, min: number, max: number): number {
  const n = value === undefined || value === "" ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`configuration value ${value} is outside ${min}..${max}`);
  }
  return n;
}

const SYNC_PAGE_MAX = 500;
const SYNC_REPLY_MAX_BYTES = 65_000;

/**
 * The largest encoded message (without its seq) any inbox or room stores: with its seq (at most
 * 11 bytes) and its framing in a reply (at most 4), a message alone never makes a sync reply
 * pass SYNC_REPLY_MAX_BYTES, and no reply or push outgrows one gim TCP frame.
 */
export const MAX_MESSAGE_BYTES = SYNC_REPLY_MAX_BYTES - 15;

export function readLimits(vars: LimitVars): Limits {
  return {
    MAX_FRAME_BYTES: intVar(vars.MAX_FRAME_BYTES, 65_536, 1_024, 16 * 1024 * 1024),
    SYNC_PAGE_LIMIT: intVar(vars.SYNC_PAGE_LIMIT, 50, 1, SYNC_PAGE_MAX),
    SYNC_PAGE_MAX,
    SYNC_REPLY_MAX_BYTES,
    IDLE_TIMEOUT_MS: intVar(vars.IDLE_TIMEOUT_SECONDS, 720, 5, 86_400) * 1000,
    TOKEN_TTL_MS: intVar(vars.TOKEN_TTL_DAYS, 90, 1, 3650) * 86_400_000,
  };
}
