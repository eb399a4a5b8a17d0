/** ChatRoom SQLite schema: append-only; never edit an applied entry. Times are ms since epoch. */
import type { Migration } from "../shared/migrate";

export const ROOM_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "room",
    sql: `
      CREATE TABLE meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq INTEGER NOT NULL
      );
      INSERT INTO meta (id, last_seq) VALUES (1, 0);
      -- Persisted room messages, kept for the replay window only.
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        body BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Where the room's subscribers are: shard objects ("shard:<n>") and user inboxes
      -- ("inbox:<user id>", for subscriptions made on a user's own socket), with their counts.
      CREATE TABLE targets (
        key TEXT PRIMARY KEY,
        subscribers INTEGER NOT NULL
      );
    `,
  },
];
