/** AppError: the one error type thrown for expected failures; runtime-neutral (Worker, DOs, relay). */
import { ErrorCode } from "./codes";

export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure that crosses a Durable Object RPC boundary as plain data (errors lose their fields there). */
export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
}
export type Result<T> = { ok: true; value: T } | Failure;

/** Runs `fn` and turns an AppError into a Failure; other errors propagate. */
export async function toResult<T>(fn: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof AppError) {
      return { ok: false, code: err.code, message: err.message };
    }
    throw err;
  }
}

/** Unwraps a Result, throwing its Failure as an AppError. */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) {
    throw new AppError(result.code, result.message);
  }
  return result.value;
}

export { ErrorCode };
