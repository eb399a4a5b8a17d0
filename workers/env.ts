/** Bindings and variables of the Worker and its Durable Objects (see wrangler.toml). */
import type { ChatRoom } from "../durable-objects/chat-room/chat-room";
import type { RoomShard } from "../durable-objects/chat-room/room-shard";
import type { GroupChat } from "../durable-objects/group-chat/group-chat";
import type { Presence } from "../durable-objects/presence/presence";
import type { UserInbox } from "../durable-objects/user-inbox/user-inbox";

export interface Env {
  DB: D1Database;
  USER_INBOX: DurableObjectNamespace<UserInbox>;
  GROUP_CHAT: DurableObjectNamespace<GroupChat>;
  CHAT_ROOM: DurableObjectNamespace<ChatRoom>;
  ROOM_SHARD: DurableObjectNamespace<RoomShard>;
  PRESENCE: DurableObjectNamespace<Presence>;
  /** The web page's files (web/, wrangler.toml [assets]). */
  ASSETS?: Fetcher;
  /** Bearer secret of the server-to-server API (pb.LogicInt). Unset: that API is refused. */
  SERVER_SECRET?: string;
  /** Base URL of the business server's pb.BusinessInt. Unset: the built-in business serves. */
  BUSINESS_URL?: string;
  /** Shared secret signing requests to and answers from the business server. */
  BUSINESS_SECRET?: string;
  /** "json" (default) or "proto". */
  BUSINESS_ENCODING?: string;
  BUSINESS_TIMEOUT_MS?: string;
  /** How long Auth and profile answers are reused (default 30). */
  BUSINESS_CACHE_SECONDS?: string;
  /** Where event webhooks go (message persisted, device online/offline, friend and group changes). */
  EVENTS_URL?: string;
  EVENTS_SECRET?: string;
  /** Optional moderation hook called before a message is persisted. */
  BEFORE_SEND_URL?: string;
  BEFORE_SEND_TIMEOUT_MS?: string;
  /** "open" (default: deliver when the hook fails) or "closed" (refuse). */
  BEFORE_SEND_FAILURE?: string;
  /** Code accepted by the built-in SignIn. Local configuration only; unset = code sign-in refused. */
  DEV_SIGNIN_CODE?: string;
  TOKEN_TTL_DAYS?: string;
  SYNC_PAGE_LIMIT?: string;
  MAX_FRAME_BYTES?: string;
  IDLE_TIMEOUT_SECONDS?: string;
  /** Largest group (default 2000). */
  MAX_GROUP_MEMBERS?: string;
  /** Member inboxes a group delivers to at once (default 64). */
  GROUP_FANOUT_CONCURRENCY?: string;
  /** A retried group send is recognised within this many group messages (default 100000). */
  GROUP_DEDUP_MESSAGES?: string;
  /** How long persisted room messages stay replayable (default 120 s). */
  ROOM_REPLAY_SECONDS?: string;
  /** At most this many room messages are kept for replay (default 1000). */
  ROOM_REPLAY_MAX?: string;
  /** Sockets per room shard object (default 10,000; Cloudflare allows 32,768 per object). */
  ROOM_SHARD_SIZE?: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: { userId: number; deviceId: number };
}
