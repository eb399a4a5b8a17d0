/** Bindings and variables of the Worker and its Durable Objects (see wrangler.toml). */
import type { GroupChat } from "../durable-objects/group-chat/group-chat";
import type { UserInbox } from "../durable-objects/user-inbox/user-inbox";

export interface Env {
  DB: D1Database;
  USER_INBOX: DurableObjectNamespace<UserInbox>;
  GROUP_CHAT: DurableObjectNamespace<GroupChat>;
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
}

export interface AppEnv {
  Bindings: Env;
  Variables: { userId: number; deviceId: number };
}
