/** The built-in business's device tokens, kept hashed in the user's inbox. */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { hashToken } from "../shared/token-hash";
import type { Statements } from "./statements";

/** Throws AppError(UNAUTHORIZED) unless `token` is the device's current, unexpired token. */
export async function checkToken(stmts: Statements, deviceId: number, token: string): Promise<void> {
  if (!Number.isSafeInteger(deviceId) || deviceId <= 0 || !token) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "user_id, device_id and token are required");
  }
  const row = stmts.token(deviceId);
  if (!row || row.token_hash !== (await hashToken(token))) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "invalid token: sign in again");
  }
  if (row.expires_at <= Date.now()) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "token expired: sign in again");
  }
}
