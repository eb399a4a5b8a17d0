import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { INBOX_MIGRATIONS } from "../../durable-objects/user-inbox/schema";
import { migrate } from "../../durable-objects/shared/migrate";
import { userInbox } from "../../workers/stubs";

it("creates the UserInbox schema exactly once, recorded in _schema_migrations", async () => {
  const stub = userInbox(env, 424_242);
  const { tables, migrations } = await runInDurableObject(stub, (_inbox, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")
      .toArray()
      .map((row) => row.name),
    migrations: state.storage.sql.exec<{ id: number; name: string }>("SELECT id, name FROM _schema_migrations").toArray(),
  }));
  expect(tables).toEqual([
    "_schema_migrations",
    "device_acks",
    "device_tokens",
    "devices",
    "events",
    "known_users",
    "messages",
    "outbox",
    "own_profile",
    "sent",
  ]);
  expect(migrations).toEqual([
    { id: 1, name: "inbox" },
    { id: 2, name: "events" },
    { id: 3, name: "devices" },
    { id: 4, name: "fewer pages per send" },
    { id: 5, name: "outbox as one b-tree" },
    { id: 6, name: "known users and own profile" },
  ]);
});

it("keeps pending outbox rows and send records when migrations 4 and 5 rebuild their tables", async () => {
  const stub = userInbox(env, 424_243);
  const after = await runInDurableObject(stub, (_inbox, state) => {
    const sql = state.storage.sql;
    // Back to the schema of migration 3, with data in it.
    for (const table of ["messages", "sent", "outbox", "device_acks", "device_tokens", "events", "devices", "known_users", "own_profile", "_schema_migrations"]) {
      sql.exec(`DROP TABLE IF EXISTS ${table}`);
    }
    migrate(sql, INBOX_MIGRATIONS.slice(0, 3));
    sql.exec("INSERT INTO sent (client_msg_id, seq, created_at) VALUES ('c1', 1, 5), ('c2', 2, 6)");
    sql.exec("INSERT INTO outbox (target_user_id, msg_id, body) VALUES (7, 'u1:1', x'0a'), (8, 'u1:2', x'0b')");
    migrate(sql, INBOX_MIGRATIONS);
    return {
      sent: sql.exec("SELECT client_msg_id, seq, created_at FROM sent ORDER BY seq").toArray(),
      outbox: sql.exec("SELECT id, target_user_id, msg_id FROM outbox ORDER BY id").toArray(),
      sentDdl: sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'sent'").one().sql,
      outboxDdl: sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'outbox'").one().sql,
    };
  });
  expect(after.sent).toEqual([
    { client_msg_id: "c1", seq: 1, created_at: 5 },
    { client_msg_id: "c2", seq: 2, created_at: 6 },
  ]);
  expect(after.outbox).toEqual([
    { id: 1, target_user_id: 7, msg_id: "u1:1" },
    { id: 2, target_user_id: 8, msg_id: "u1:2" },
  ]);
  expect(after.sentDdl).toContain("WITHOUT ROWID");
  expect(after.outboxDdl).toContain("WITHOUT ROWID");
});
