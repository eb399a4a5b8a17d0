/**
 * Who the users are and whether a token is theirs: the business server's pb.BusinessInt when
 * BUSINESS_URL is set, else the built-in business (D1 profiles, tokens in each user's inbox).
 */
import { ErrorCode } from "../proto/codes";
import { AppError, unwrap } from "../proto/errors";
import type { pb } from "../proto/gen/pb.js";
import { BusinessClient, businessConfig } from "./business/business-client";
import { TtlCache } from "./business/ttl-cache";
import { getUsers as getUsersFromD1, userExists } from "./db/users";
import type { Env } from "./env";
import { userInbox } from "./stubs";

/** Users this isolate found in D1 (users are never deleted). */
const knownUsers = new TtlCache<number, true>(100_000);
const KNOWN_USER_TTL_MS = 3_600_000;

/** Checks a user's device token; throws AppError(UNAUTHORIZED) or AppError(UNAVAILABLE). */
export async function authenticate(env: Env, userId: number, deviceId: number, token: string): Promise<void> {
  const business = businessConfig(env);
  if (business) {
    await new BusinessClient(business).auth(userId, deviceId, token);
    return;
  }
  // Addressing an inbox creates its object and storage, so an id that is no user never gets
  // there (the answer is the one a wrong token gets).
  if (!(await isUser(env, userId))) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "invalid token: sign in again");
  }
  unwrap(await userInbox(env, userId).authenticate(deviceId, token));
}

/** Whether the directory has this user: check it before addressing an inbox by a given id. */
export async function isUser(env: Env, userId: number): Promise<boolean> {
  const business = businessConfig(env);
  if (business) {
    return (await new BusinessClient(business).getUsers([userId])).has(userId);
  }
  if (knownUsers.get(userId)) {
    return true;
  }
  const found = await userExists(env.DB, userId);
  if (found) {
    knownUsers.set(userId, true, KNOWN_USER_TTL_MS);
  }
  return found;
}

/** Profiles of users by id; ids the directory does not know are absent. */
export async function getUsers(env: Env, userIds: readonly number[]): Promise<Map<number, pb.IUser>> {
  if (userIds.length === 0) {
    return new Map();
  }
  const business = businessConfig(env);
  return business ? new BusinessClient(business).getUsers(userIds) : getUsersFromD1(env.DB, userIds);
}

export async function getUser(env: Env, userId: number): Promise<pb.IUser | null> {
  return (await getUsers(env, [userId])).get(userId) ?? null;
}
