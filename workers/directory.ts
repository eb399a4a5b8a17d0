/**
 * Who the users are and whether a token is theirs: the business server's pb.BusinessInt when
 * BUSINESS_URL is set, else the built-in business (D1 profiles, tokens in each user's inbox).
 */
import { ErrorCode } from "../proto/codes";
import { AppError, unwrap } from "../proto/errors";
import type { pb } from "../proto/gen/pb.js";
import { BusinessClient, businessConfig } from "./business/business-client";
import { TtlCache } from "./business/ttl-cache";
import { groupExists } from "./db/groups";
import { getUsers as getUsersFromD1, userExists } from "./db/users";
import type { Env } from "./env";
import { userInbox } from "./stubs";

/**
 * Users and groups this isolate found in D1. Users are never deleted; a group dissolved since
 * then still has its object, which answers that the group does not exist.
 */
const knownUsers = new TtlCache<number, true>(100_000);
const knownGroups = new TtlCache<number, true>(100_000);
const KNOWN_TTL_MS = 3_600_000;

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
    knownUsers.set(userId, true, KNOWN_TTL_MS);
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

/** Whether the group exists: check it before addressing a group's object by a given id. */
export async function isGroup(env: Env, groupId: number): Promise<boolean> {
  if (knownGroups.get(groupId)) {
    return true;
  }
  const found = groupId > 0 && (await groupExists(env.DB, groupId));
  if (found) {
    knownGroups.set(groupId, true, KNOWN_TTL_MS);
  }
  return found;
}

/** Throws GROUP_NOT_EXIST unless the group exists (see isGroup). */
export async function requireGroup(env: Env, groupId: number): Promise<void> {
  if (!(await isGroup(env, groupId))) {
    throw new AppError(ErrorCode.GROUP_NOT_EXIST, "group does not exist");
  }
}
