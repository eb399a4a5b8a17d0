import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
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
  expect(tables).toEqual(["_schema_migrations", "device_acks", "device_tokens", "devices", "events", "idx_outbox_target", "messages", "outbox", "sent"]);
  expect(migrations).toEqual([
    { id: 1, name: "inbox" },
    { id: 2, name: "events" },
    { id: 3, name: "devices" },
  ]);
});
