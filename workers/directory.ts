/**
 * Who the users are and whether a token is theirs: the business server's pb.BusinessInt when
 * BUSINESS_URL is set, else the built-in business (D1 profiles, tokens in each user's inbox).
 */
import { unwrap } from "../proto/errors";
import type { pb } from "../proto/gen/pb.js";
import { BusinessClient, businessConfig } from "./business/business-client";
import { getUsers as getUsersFromD1 } from "./db/users";
import type { Env } from "./env";
import { userInbox } from "./stubs";

/** Checks a user's device token; throws AppError(UNAUTHORIZED) or AppError(UNAVAILABLE). */
export async function authenticate(env: Env, userId: number, deviceId: number, token: string): Promise<void> {
  const business = businessConfig(env);
  if (business) {
    await new BusinessClient(business).auth(userId, deviceId, token);
  } else {
    unwrap(await userInbox(env, userId).authenticate(deviceId, token));
  }
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
