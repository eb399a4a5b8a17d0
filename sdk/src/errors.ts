/** GimError: one error type for HTTP, socket and client-side failures, carrying gim's numeric code. */
import { ErrorCode } from "../../proto/codes";

/**
 * Codes the SDK itself raises, from the gRPC range the server also uses below 1000, so one
 * `code` field covers server and client failures alike.
 */
export const ClientErrorCode = {
  /** The client was closed (or closed for good by 4500/4501) before the call completed. */
  CANCELLED: 1,
  /** No answer within the call's timeout. */
  DEADLINE_EXCEEDED: 4,
  /** The server could not be reached (network down, server restarting). */
  UNAVAILABLE: ErrorCode.UNAVAILABLE,
} as const;

export interface GimErrorDetails {
  /** Connect code name of an HTTP error (`unauthenticated`, `not_found`, …). */
  connectCode?: string;
  /** HTTP status of an HTTP error. */
  status?: number;
  cause?: unknown;
}

/** A failed call: `code` is `Output.code` / the Connect body's `gimCode`, or a ClientErrorCode. */
export class GimError extends Error {
  override readonly name = "GimError";
  readonly connectCode: string | undefined;
  readonly status: number | undefined;

  constructor(
    readonly code: number,
    message: string,
    details: GimErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.connectCode = details.connectCode;
    this.status = details.status;
  }

  /** True when retrying later may succeed (network, server unavailable, timeout). */
  get temporary(): boolean {
    return this.code === ErrorCode.UNAVAILABLE || this.code === ClientErrorCode.DEADLINE_EXCEEDED || this.code === ErrorCode.INTERNAL;
  }

  /** True when the credentials are no longer valid: sign in again. */
  get unauthenticated(): boolean {
    return this.code === ErrorCode.UNAUTHORIZED;
  }
}

export { CloseCode, ErrorCode } from "../../proto/codes";
