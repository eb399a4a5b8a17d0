/** The CLI end to end, as a child process against the local server, over WebSocket and TCP. */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- plain ESM module without type declarations
import { messageLine } from "../../cli/format.mjs";
import { pb } from "../../proto/gen/pb.js";
import { Cli } from "./cli-runner";
import { startFakeRelay, type FakeRelay } from "./fake-relay";
import { baseUrl, uniquePhone } from "./helpers";

let dir: string;
let alice: Cli;
let bob: Cli;
let aliceId: number;
let bobId: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gim-cli-"));
  const env = { GIM_CONFIG: join(dir, "credentials.json"), GIM_SERVER: baseUrl() };
  alice = new Cli({ ...env, GIM_PROFILE: "alice" });
  bob = new Cli({ ...env, GIM_PROFILE: "bob" });
  const a = await alice.run(["signin", uniquePhone(), "--json"]);
  const b = await bob.run(["signin", uniquePhone(), "--json"]);
  expect(a.code).toBe(0);
  aliceId = Number(JSON.parse(a.stdout).userId);
  bobId = Number(JSON.parse(b.stdout).userId);
  await alice.run(["set-name", "Alice"]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("gim CLI", () => {
  it("signs in and keeps the credentials in a file only its owner can read", async () => {
    const file = join(dir, "credentials.json");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { profiles: Record<string, { userId: number; token: string }> };
    expect(saved.profiles.alice?.userId).toBe(aliceId);
    expect(saved.profiles.bob?.token).toBeTruthy();
    expect(statSync(file).mode & 0o077).toBe(0);
    const who = await alice.run(["whoami"]);
    expect(who.stdout).toContain(`user ${aliceId} "Alice"`);
  });

  it("sends, prints the message live in listen, and sync prints only what is new", async () => {
    const listener = bob.start(["listen", "--json"]);
    await listener.waitFor("up to date");
    const sent = await alice.run(["send", String(bobId), "hello", "from", "the", "CLI"]);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^sent \(seq \d+\)\n$/);
    await listener.waitFor('"text":"hello from the CLI"');
    expect(await listener.stop()).toBe(0);
    const [record] = listener.records().filter((r) => r.text === "hello from the CLI");
    expect(record).toMatchObject({ event: "message", from: aliceId, fromName: "Alice", to: { type: "user", id: bobId }, type: "text" });

    // listen stored its seq: sync prints only the messages sent after it.
    await alice.run(["send", String(bobId), "while", "you", "were", "away"]);
    const synced = await bob.run(["sync", "--json"]);
    expect(synced.code).toBe(0);
    expect(synced.stdout.trim().split("\n").map((l) => JSON.parse(l).text)).toEqual(["while you were away"]);
    expect(synced.stderr).toContain("1 new message");
    const again = await bob.run(["sync", "--json"]);
    expect(again.stdout).toBe("");
  });

  it("shows progress on a long sync and prints every message in order", async () => {
    for (let i = 0; i < 3; i++) {
      await alice.run(["send", String(bobId), `batch ${i}`]);
    }
    const many = await alice.run(["chat", String(bobId), "--quiet"], Array.from({ length: 600 }, (_, i) => `line ${i}`).join("\n"), 60_000);
    expect(many.code).toBe(0);
    // chat ends once every send is answered, i.e. stored in alice's inbox; bob's copies follow
    // through her outbox, so the last ones may still be on their way: sync again (each sync
    // prints only what is new) until all are there.
    const expected = [...[0, 1, 2].map((i) => `batch ${i}`), ...Array.from({ length: 600 }, (_, i) => `line ${i}`)];
    const first = await bob.run(["sync", "--json"], undefined, 60_000, 1_000); // its reader is slow: nothing printed may be lost
    expect(first.stderr).toMatch(/syncing: \d+ messages/);
    const texts = first.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l).text);
    for (let round = 0; texts.length < expected.length && round < 20; round++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const more = await bob.run(["sync", "--json"], undefined, 60_000);
      texts.push(...more.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l).text));
    }
    expect(texts).toEqual(expected);
  });

  it("chats and joins rooms through the TCP relay framing", async () => {
    const relay: FakeRelay = await startFakeRelay(baseUrl());
    try {
      const tcp = ["--tcp", `127.0.0.1:${relay.port}`];
      const listener = bob.start(["listen", "--json", ...tcp]);
      await listener.waitFor(`connected to TCP relay 127.0.0.1:${relay.port}`);
      const chat = await alice.run(["chat", String(bobId), ...tcp], "over tcp\n");
      expect(chat.code).toBe(0);
      expect(chat.stdout).toContain("you → user");
      await listener.waitFor('"text":"over tcp"');
      expect(await listener.stop()).toBe(0);

      const roomId = String(900_000 + Math.floor(Math.random() * 90_000));
      const inRoom = bob.start(["room", roomId, "--json", ...tcp]);
      await inRoom.waitFor(`joined room ${roomId}`);
      const talk = await alice.run(["room", roomId], "hello room\n");
      expect(talk.code).toBe(0);
      await inRoom.waitFor('"text":"hello room"');
      expect(await inRoom.stop("eof")).toBe(0);
      expect(inRoom.records()[0]).toMatchObject({ event: "roomMessage", from: aliceId, to: { type: "room", id: Number(roomId) } });

      // A second connection of the same device takes over: the relay's close notice carries 4500.
      const first = bob.start(["listen", ...tcp]);
      await first.waitFor("up to date");
      const second = bob.start(["listen", ...tcp]);
      await first.waitFor("another connection of this device took over");
      await second.waitFor("up to date");
      expect(await first.stop()).toBe(4);
      expect(await second.stop()).toBe(0);
      expect(relay.signIns).toBeGreaterThanOrEqual(3);
    } finally {
      await relay.close();
    }
  });

  it("prints other users' control characters as escapes, not as terminal input", () => {
    const message = pb.Message.create({
      sender: { senderType: pb.SenderType.ST_USER, senderId: 7, nickname: "Eve\u001b[2K" },
      receiverType: pb.ReceiverType.RT_USER,
      receiverId: 8,
      messageType: pb.MessageType.MT_TEXT,
      messageContent: pb.Text.encode({ text: "hi\n#13 12:00 Bob (2) → you: fake" }).finish(),
      seq: 3,
    });
    const line = messageLine(message, 8) as string;
    expect(line).not.toMatch(/[\u0000-\u001f]/);
    expect(line).toContain("Eve\\u{1b}[2K (7)");
    expect(line).toContain("hi\\u{a}#13 12:00 Bob (2) → you: fake");
  });

  it("explains mistakes and exits non-zero", async () => {
    const stranger = new Cli({ GIM_CONFIG: join(dir, "none.json"), GIM_SERVER: baseUrl() });
    const notSignedIn = await stranger.run(["send", "1", "hi"]);
    expect(notSignedIn.code).toBe(2);
    expect(notSignedIn.stderr).toContain("not signed in: run `gim signin <phone>` first");
    const wrongCode = await stranger.run(["signin", uniquePhone(), "--code", "9999"]);
    expect(wrongCode.code).toBe(1);
    expect(wrongCode.stderr).toContain("wrong verification code");
    const nobody = await alice.run(["send", "999999999", "hi"]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain("does not exist");
    // A chat goes on after a line that was not sent, and ends with 1 (no crash on the rejection).
    const chatNobody = await alice.run(["chat", "999999999"], "first\nsecond\n");
    expect(chatNobody.code).toBe(1);
    expect(chatNobody.stderr.match(/not sent .*does not exist/g)).toHaveLength(2);
    const down = await new Cli({ GIM_CONFIG: join(dir, "none.json"), GIM_SERVER: "http://127.0.0.1:9" }).run(["signin", uniquePhone()]);
    expect(down.stderr).toContain("cannot reach http://127.0.0.1:9");
  });
});
