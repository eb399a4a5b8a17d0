/** The only place that addresses Durable Objects; names are prefixed by entity. */
import type { Env } from "./env";

export function userInbox(env: Env, userId: number) {
  return env.USER_INBOX.getByName(`user:${userId}`);
}

export function groupChat(env: Env, groupId: number) {
  return env.GROUP_CHAT.getByName(`group:${groupId}`);
}
