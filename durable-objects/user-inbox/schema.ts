/** UserInbox SQLite schema: append-only; never edit an applied entry. Times are ms since epoch. */
import { eventsMigration } from "../shared/event-outbox";
import type { Migration } from "../shared/migrate";

export const INBOX_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "inbox",
    sql: `
      -- One row per persisted message of this user; body = encoded pb.Message with its seq.
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        msg_id TEXT NOT NULL UNIQUE,       -- global id of the logical message: dedups deliveries
        body BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Sends of this user by client message id: a retry returns the original seq.
      CREATE TABLE sent (
        client_msg_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Copies still to be applied by another user's inbox (invariant 2); body has no seq.
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target_user_id INTEGER NOT NULL,
        msg_id TEXT NOT NULL,
        body BLOB NOT NULL
      );
      CREATE INDEX idx_outbox_target ON outbox (target_user_id, id);
      CREATE TABLE device_acks (
        device_id INTEGER PRIMARY KEY,
        ack INTEGER NOT NULL
      );
      CREATE TABLE device_tokens (
        device_id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  eventsMigration(2),
  {
    id: 3,
    name: "devices",
    sql: `
      -- Devices seen on this user (sign-in, connect): offline ones are named in message events
      -- with their vendor push id so the business can send APNs/FCM notifications.
      CREATE TABLE devices (
        device_id INTEGER PRIMARY KEY,
        brand_push_id TEXT NOT NULL DEFAULT '',
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    id: 4,
    name: "fewer pages per send",
    sql: `
      -- Each send writes these tables in its transaction: a WITHOUT ROWID table is one b-tree
      -- (not a table plus its primary key index), and the outbox no longer updates
      -- sqlite_sequence on every insert (ids may restart once it is empty, which is harmless:
      -- an id is only remembered while its row exists).
      CREATE TABLE sent_v4 (
        client_msg_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO sent_v4 (client_msg_id, seq, created_at) SELECT client_msg_id, seq, created_at FROM sent;
      DROP TABLE sent;
      ALTER TABLE sent_v4 RENAME TO sent;
      CREATE TABLE outbox_v4 (
        id INTEGER PRIMARY KEY,
        target_user_id INTEGER NOT NULL,
        msg_id TEXT NOT NULL,
        body BLOB NOT NULL
      );
      INSERT INTO outbox_v4 (id, target_user_id, msg_id, body) SELECT id, target_user_id, msg_id, body FROM outbox;
      DROP TABLE outbox;
      ALTER TABLE outbox_v4 RENAME TO outbox;
      CREATE INDEX idx_outbox_target ON outbox (target_user_id, id);
    `,
  },
  {
    id: 5,
    name: "outbox as one b-tree",
    sql: `
      -- Every query of the outbox goes by (target_user_id, id), and the object assigns the ids:
      -- keyed that way, a send writes one b-tree instead of a table and its index.
      CREATE TABLE outbox_v5 (
        target_user_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        msg_id TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (target_user_id, id)
      ) WITHOUT ROWID;
      INSERT INTO outbox_v5 (target_user_id, id, msg_id, body) SELECT target_user_id, id, msg_id, body FROM outbox;
      DROP TABLE outbox;
      ALTER TABLE outbox_v5 RENAME TO outbox;
    `,
  },
  {
    id: 6,
    name: "known users and own profile",
    sql: `
      -- Users this inbox found in the directory. Users are never deleted, so a send to one of
      -- them needs no directory look-up again, also after the object restarts.
      CREATE TABLE known_users (
        user_id INTEGER PRIMARY KEY
      );
      -- This user's profile as put in every message it sends (one row), with when it was read.
      CREATE TABLE own_profile (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        nickname TEXT NOT NULL,
        avatar_url TEXT NOT NULL,
        extra TEXT NOT NULL,
        loaded_at INTEGER NOT NULL
      );
    `,
  },
];
