/** GroupChat SQLite schema: append-only; never edit an applied entry. Times are ms since epoch. */
import { eventsMigration } from "../shared/event-outbox";
import type { Migration } from "../shared/migrate";

export const GROUP_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "group",
    sql: `
      -- One row: the group's profile. dissolved_at > 0 once the owner dissolved it.
      CREATE TABLE info (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        group_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        avatar_url TEXT NOT NULL,
        introduction TEXT NOT NULL,
        extra TEXT NOT NULL,
        owner_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        dissolved_at INTEGER NOT NULL DEFAULT 0
      );
      -- Members and their fan-out cursor: the last group seq applied in their inbox. A removed
      -- member keeps its row, with until_gseq set, until everything up to its removal reached it.
      CREATE TABLE members (
        user_id INTEGER PRIMARY KEY,
        member_type INTEGER NOT NULL,        -- 1 admin, 2 member (pb.MemberType)
        remarks TEXT NOT NULL DEFAULT '',
        extra TEXT NOT NULL DEFAULT '',
        joined_at INTEGER NOT NULL,
        cursor INTEGER NOT NULL,
        until_gseq INTEGER                   -- NULL while a member
      );
      -- The group's order: every persisted group message and notice, body without a user seq.
      CREATE TABLE log (
        gseq INTEGER PRIMARY KEY,
        msg_id TEXT NOT NULL,
        body BLOB NOT NULL,
        sender_id INTEGER NOT NULL,
        sender_device_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Sends by (sender, client message id): a retry finds its group seq.
      CREATE TABLE sent (
        sender_id INTEGER NOT NULL,
        client_msg_id TEXT NOT NULL,
        gseq INTEGER NOT NULL,
        PRIMARY KEY (sender_id, client_msg_id)
      );
      -- Users whose D1 directory rows must be rewritten from this object (0 = the group row).
      CREATE TABLE mirror_dirty (
        user_id INTEGER PRIMARY KEY
      );
    `,
  },
  eventsMigration(2),
];
