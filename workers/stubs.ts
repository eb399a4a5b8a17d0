/** The only place that addresses Durable Objects; names are prefixed by entity. */
import type { Env } from "./env";

export function userInbox(env: Env, userId: number) {
  return env.USER_INBOX.getByName(`user:${userId}`);
}

export function groupChat(env: Env, groupId: number) {
  return env.GROUP_CHAT.getByName(`group:${groupId}`);
}

/** The root of a room: its order, replay window and broadcast. */
export function chatRoom(env: Env, roomId: number) {
  return env.CHAT_ROOM.getByName(`room:${roomId}`);
}

/** One of the objects holding a room's sockets. */
export function roomShard(env: Env, roomId: number, shard: number) {
  return env.ROOM_SHARD.getByName(`room:${roomId}:shard:${shard}`);
}

export const PRESENCE_SHARDS = 16;

/** The presence shard of a user; `presenceShard` addresses one directly for PushAll. */
export function presence(env: Env, userId: number) {
  return presenceShard(env, userId % PRESENCE_SHARDS);
}

export function presenceShard(env: Env, shard: number) {
  return env.PRESENCE.getByName(`presence:${shard}`);
}
