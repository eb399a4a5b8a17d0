/**
 * What a sender's inbox keeps about users (durable-objects/user-inbox/peers.ts): a send after the
 * object restarts needs no directory look-up. The directory is changed behind gim's back here,
 * so that only a look-up could notice.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { userInbox } from "../../workers/stubs";
import { call, connect, ok, sendText, signIn, syncAll, text, textBase64 } from "./helpers";

async function restart(userId: number): Promise<void> {
  await runInDurableObject(userInbox(env, userId), (_inbox, state) => {
    state.abort("restart");
  }).catch(() => undefined);
}

function ownProfileLoadedAt(userId: number): Promise<number | undefined> {
  return runInDurableObject(userInbox(env, userId), (_inbox, state) =>
    state.storage.sql.exec<{ loaded_at: number }>("SELECT loaded_at FROM own_profile").toArray()[0]?.loaded_at,
  );
}

describe("what a sender's inbox knows about users", () => {
  it("sends to a receiver it found before without a directory look-up, also after a restart", async () => {
    const [alice, bob, carol] = [await signIn(), await signIn(), await signIn()];
    expect(await sendText(alice, bob.userId, "first")).toBe(1);
    const bobRow = await env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(bob.userId).first<Record<string, string | number>>();
    await env.DB.prepare("DELETE FROM users WHERE id IN (?, ?)").bind(bob.userId, carol.userId).run();
    await restart(alice.userId);

    expect(await sendText(alice, bob.userId, "second")).toBe(2);
    const toCarol = await call(
      "pb.LogicExt/SendMessage",
      { receiverType: "RT_USER", receiverId: carol.userId, messageType: "MT_TEXT", messageContent: textBase64("never"), isPersist: true },
      alice,
    );
    expect(toCarol.body).toMatchObject({ code: "not_found", gimCode: 10016 }); // never found, so looked up
    const columns = Object.keys(bobRow!);
    await env.DB.prepare(`INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
      .bind(...columns.map((c) => bobRow![c]))
      .run(); // bob back, so that he can connect
    const { messages } = await syncAll(await connect(bob), 0);
    expect(messages.map(text)).toEqual(["first", "second"]);
  });

  it("puts its stored profile in messages after a restart and reads a stale one again for later sends", async () => {
    const [alice, bob] = [await signIn(), await signIn()];
    await ok("pb.BusinessExt/UpdateUser", { nickname: "Alice" }, alice);
    await sendText(alice, bob.userId, "one");
    await env.DB.prepare("UPDATE users SET nickname = ? WHERE id = ?").bind("Alicia", alice.userId).run();
    await restart(alice.userId);
    await sendText(alice, bob.userId, "two"); // the stored profile

    await runInDurableObject(userInbox(env, alice.userId), (_inbox, state) => {
      state.storage.sql.exec("UPDATE own_profile SET loaded_at = 1");
    });
    await restart(alice.userId); // so the object reads the aged row
    await sendText(alice, bob.userId, "three"); // sent at once with the stale one, which is read again
    await vi.waitFor(async () => expect(await ownProfileLoadedAt(alice.userId)).toBeGreaterThan(1));
    await sendText(alice, bob.userId, "four");

    // UpdateUser drops the stored profile too: after a restart the next send reads the new one.
    await ok("pb.BusinessExt/UpdateUser", { nickname: "Al" }, alice);
    await restart(alice.userId);
    await sendText(alice, bob.userId, "five");

    const { messages } = await syncAll(await connect(bob), 0);
    expect(messages.map((m) => [text(m), m.sender?.nickname])).toEqual([
      ["one", "Alice"],
      ["two", "Alice"],
      ["three", "Alice"],
      ["four", "Alicia"],
      ["five", "Al"],
    ]);
  });
});
