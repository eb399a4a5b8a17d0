/** pb.BusinessExt: the built-in business (phone + code sign-in, profiles, search). */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { readLimits } from "../../durable-objects/shared/limits";
import { hashToken, newToken } from "../../durable-objects/shared/token-hash";
import { unary, type Service } from "../connect-rpc";
import { bindDevice, getDevice } from "../db/devices";
import { findOrCreateUser, getUser, searchUsers, updateUser } from "../db/users";
import { userInbox } from "../stubs";

const PHONE = /^\+?[0-9]{3,20}$/;
const SEARCH_KEY_MAX_CHARS = 40; // D1 caps LIKE patterns at 50 bytes
const SEARCH_PAGE_DEFAULT = 20;
const SEARCH_PAGE_MAX = 100;

function requireLength(value: string, max: number, field: string): void {
  if (value.length > max) {
    throw new AppError(ErrorCode.BAD_REQUEST, `${field} is longer than ${max} characters`);
  }
}

export const businessExt: Service = {
  SignIn: unary({
    request: pb.SignInReq,
    response: pb.SignInResp,
    auth: "none",
    async handle(c, req) {
      if (!PHONE.test(req.phoneNumber)) {
        throw new AppError(ErrorCode.BAD_REQUEST, "phone_number must be 3 to 20 digits");
      }
      const expected = c.env.DEV_SIGNIN_CODE;
      if (!expected) {
        throw new AppError(ErrorCode.SIGN_IN_DISABLED, "code sign-in is disabled here: the business server signs users in");
      }
      if (req.code !== expected) {
        throw new AppError(ErrorCode.BAD_CODE, "wrong verification code");
      }
      const device = req.deviceId > 0 ? await getDevice(c.env.DB, req.deviceId) : null;
      if (!device) {
        throw new AppError(ErrorCode.DEVICE_NOT_EXIST, "device does not exist: register it first");
      }
      const { userId, isNew } = await findOrCreateUser(c.env.DB, req.phoneNumber);
      const token = newToken();
      const expiresAt = Date.now() + readLimits(c.env).TOKEN_TTL_MS;
      await userInbox(c.env, userId).issueToken(req.deviceId, await hashToken(token), expiresAt, device.brandPushId ?? "");
      await bindDevice(c.env.DB, req.deviceId, userId);
      return { isNew, userId, token };
    },
  }),
  GetUser: unary({
    request: pb.GetUserReq,
    response: pb.GetUserResp,
    auth: "verify",
    async handle(c, req, caller) {
      const userId = req.userId > 0 ? req.userId : caller.userId;
      const user = await getUser(c.env.DB, userId);
      if (!user) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${userId} does not exist`);
      }
      return { user };
    },
  }),
  UpdateUser: unary({
    request: pb.UpdateUserReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      requireLength(req.nickname, 64, "nickname");
      requireLength(req.avatarUrl, 1024, "avatar_url");
      requireLength(req.extra, 4096, "extra");
      if (![0, 1, 2].includes(req.sex)) {
        throw new AppError(ErrorCode.BAD_REQUEST, "sex must be 0 (unknown), 1 (male) or 2 (female)");
      }
      await updateUser(c.env.DB, caller.userId, req);
      await userInbox(c.env, caller.userId).profileChanged();
      return {};
    },
  }),
  SearchUser: unary({
    request: pb.SearchUserReq,
    response: pb.SearchUserResp,
    auth: "verify",
    async handle(c, req) {
      const key = req.key.trim();
      if (!key || key.length > SEARCH_KEY_MAX_CHARS) {
        throw new AppError(ErrorCode.BAD_REQUEST, `key must be 1 to ${SEARCH_KEY_MAX_CHARS} characters`);
      }
      const pageSize = req.pageSize > 0 ? Math.min(req.pageSize, SEARCH_PAGE_MAX) : SEARCH_PAGE_DEFAULT;
      const afterId = req.pageToken ? Number(req.pageToken) : 0;
      if (!Number.isSafeInteger(afterId) || afterId < 0) {
        throw new AppError(ErrorCode.BAD_REQUEST, "page_token is not one this server issued");
      }
      const users = await searchUsers(c.env.DB, key, afterId, pageSize);
      const last = users.at(-1);
      return { users, nextPageToken: users.length === pageSize && last ? String(last.userId) : "" };
    },
  }),
};

