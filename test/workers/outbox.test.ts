// The outbox keeps a copy of the rows it wrote in memory and reads its table only when that copy
// may be incomplete. These tests drive it over a real inbox object's SQLite tables.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EventOutbox } from "../../durable-objects/shared/event-outbox";
import { Outbox, type DeliveryItem } from "../../durable-objects/user-inbox/outbox";
import { createStatements, type Statements } from "../../durable-objects/user-inbox/statements";
import { InboxWrites } from "../../durable-objects/user-inbox/writes";
import { userInbox } from "../../workers/stubs";

const TARGET = 7;
const body = (text: string) => new TextEncoder().encode(text);

/** A receiver that records what reaches it and can be switched off. */
function receiver() {
  const got: string[] = [];
  const state = { up: true };
  const deliver = async (target: number, items: DeliveryItem[]) => {
    expect(target).toBe(TARGET);
    if (!state.up) {
      throw new Error("receiver down");
    }
    got.push(...items.map((item) => new TextDecoder().decode(item.body)));
  };
  return { got, state, deliver };
}

/** Runs `fn` inside a fresh inbox object, with its storage and statements. */
function inFreshInbox<T>(fn: (state: DurableObjectState, stmts: Statements) => Promise<T>): Promise<T> {
  const stub = userInbox(env, 500_000 + Math.floor(Math.random() * 100_000));
  return runInDurableObject(stub, (_inbox, state) => fn(state, createStatements(state.storage.sql)));
}

function writesOf(state: DurableObjectState, stmts: Statements, outbox: Outbox): InboxWrites {
  const events = new EventOutbox(state.storage.sql, null, "test", () => undefined);
  return new InboxWrites({ ctx: state, stmts, outbox, events, userId: 1, armAlarm: () => undefined, rideAlong: () => undefined });
}

const rowsLeft = (state: DurableObjectState) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;

describe("outbox rows in memory and in the table", () => {
  it("delivers rows an earlier instance left in the table before its own, in order, each once", async () => {
    const { got, left } = await inFreshInbox(async (state, stmts) => {
      const earlier = new Outbox(stmts, receiver().deliver);
      writesOf(state, stmts, earlier).transaction(() => ["a", "b"].forEach((text) => earlier.enqueue(TARGET, text, body(text))));
      // A new instance, as after a restart, finds those rows in the table only.
      const r = receiver();
      const restarted = new Outbox(stmts, r.deliver);
      const writes = writesOf(state, stmts, restarted);
      writes.transaction(() => restarted.enqueue(TARGET, "c", body("c")));
      expect(await restarted.drain(TARGET)).toBe(true);
      writes.transaction(() => restarted.enqueue(TARGET, "d", body("d")));
      expect(await restarted.drain(TARGET)).toBe(true);
      writes.transaction(() => restarted.deleteDelivered());
      return { got: r.got, left: rowsLeft(state) };
    });
    expect(got).toEqual(["a", "b", "c", "d"]);
    expect(left).toBe(0);
  });

  it("never delivers a row whose transaction rolled back", async () => {
    const { got, left } = await inFreshInbox(async (state, stmts) => {
      const r = receiver();
      const outbox = new Outbox(stmts, r.deliver);
      const writes = writesOf(state, stmts, outbox);
      expect(() =>
        writes.transaction(() => {
          outbox.enqueue(TARGET, "ghost", body("ghost"));
          throw new Error("the rest of the batch failed");
        }),
      ).toThrow("the rest of the batch failed");
      writes.transaction(() => outbox.enqueue(TARGET, "real", body("real")));
      expect(await outbox.drain(TARGET)).toBe(true);
      writes.transaction(() => outbox.deleteDelivered());
      return { got: r.got, left: rowsLeft(state) };
    });
    expect(got).toEqual(["real"]);
    expect(left).toBe(0);
  });

  it("reads the table when more rows wait than memory keeps, and still delivers all in order once", async () => {
    const total = 1_234; // more than the 1,000 rows kept in memory per target
    const { got, left, failed } = await inFreshInbox(async (state, stmts) => {
      const r = receiver();
      const outbox = new Outbox(stmts, r.deliver);
      const writes = writesOf(state, stmts, outbox);
      r.state.up = false;
      for (let i = 0; i < total; i += 1) {
        writes.transaction(() => outbox.enqueue(TARGET, `m${i}`, body(`m${i}`)));
      }
      const failed = await outbox.drain(TARGET);
      r.state.up = true;
      expect(await outbox.drain(TARGET)).toBe(true);
      writes.transaction(() => outbox.enqueue(TARGET, "after", body("after")));
      expect(await outbox.drain(TARGET)).toBe(true);
      writes.transaction(() => outbox.deleteDelivered());
      return { got: r.got, left: rowsLeft(state), failed };
    });
    expect(failed).toBe(false);
    expect(got).toEqual([...Array.from({ length: total }, (_, i) => `m${i}`), "after"]);
    expect(left).toBe(0);
  });
});
