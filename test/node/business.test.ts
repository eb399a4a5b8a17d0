// The business server integration end to end: gim on a local server, the example business server
// (examples/business-server) as a separate process, talking over signed HTTP both ways.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
// @ts-expect-error -- plain ESM script without type declarations
import { startLocalServer } from "../../scripts/local-server.mjs";
import { call, connect, ok, textContent, type NodeSocket, type Session } from "./client";

const SECRET = "example-business-secret";
const dir = mkdtempSync(join(tmpdir(), "gim-business-"));
const dataFile = join(dir, "business.json");
let business: ChildProcess;
let businessUrl = "";
let gim: { url: string; stop(): Promise<void> };

function startBusiness(port = 0): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["examples/business-server/server.mjs"], {
    env: { ...process.env, PORT: String(port), BUSINESS_SECRET: SECRET, DATA_FILE: dataFile },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      const match = /listening on (\d+)/.exec(String(chunk));
      if (match) {
        businessUrl = `http://127.0.0.1:${match[1]}`;
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`business server exited with ${code}`)));
  });
}

async function stopBusiness(): Promise<void> {
  const exited = new Promise((resolve) => business.once("exit", resolve));
  business.kill("SIGTERM");
  await exited;
}

async function app(path: string, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${businessUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await res.json()) as Record<string, any>;
}

async function events(): Promise<Record<string, any>[]> {
  return (await app("/admin/events", {})).events;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A user of the business with a device registered at gim and signed in at the business. */
async function user(nickname: string, brandPushId = ""): Promise<Session> {
  const { user_id: userId } = await app("/app/sign-up", { phone: "1", nickname });
  const device = await ok("pb.LogicExt/RegisterDevice", { type: 1, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1", brandPushId }, undefined, gim.url);
  const { token } = await app("/app/sign-in", { user_id: userId, device_id: device.deviceId });
  return { userId, deviceId: Number(device.deviceId), token };
}

let requestId = 0;
async function sendText(socket: NodeSocket, to: number, value: string): Promise<pb.Output> {
  requestId += 1;
  const req = pb.SendMessageReq.encode({ receiverType: 1, receiverId: to, messageType: 1, messageContent: textContent(value), isPersist: true });
  socket.send(pb.PackageType.PT_SEND_MESSAGE, requestId, req.finish());
  return socket.reply(requestId);
}

async function nextPush(socket: NodeSocket): Promise<pb.Message> {
  return socket.until(() => socket.takePushes()[0], "a push");
}

beforeAll(async () => {
  business = await startBusiness();
  const base = businessUrl;
  gim = await startLocalServer({
    port: 0,
    stateDir: join(dir, "gim"),
    quiet: true,
    vars: {
      DEV_SIGNIN_CODE: "",
      BUSINESS_URL: base,
      BUSINESS_SECRET: SECRET,
      BUSINESS_TIMEOUT_MS: "500",
      EVENTS_URL: `${base}/webhooks/events`,
      BEFORE_SEND_URL: `${base}/webhooks/before-send`,
    },
  });
}, 60_000);

afterAll(async () => {
  business?.kill("SIGTERM");
  await gim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("with a business server", () => {
  it("signs in through it, sends with its profiles, reports an offline device's push id, survives its outage", async () => {
    const alice = await user("Alice from the business");
    const bob = await user("Bob");
    const bobPhone = { ...bob, deviceId: Number((await ok("pb.LogicExt/RegisterDevice", { type: 2, brand: "apple", model: "15", systemVersion: "18", sdkVersion: "1" }, undefined, gim.url)).deviceId) };
    bobPhone.token = (await app("/app/sign-in", { user_id: bob.userId, device_id: bobPhone.deviceId })).token;
    await ok("pb.LogicExt/UpdateDevicePushId", { brandPushId: "apns-token-123" }, bobPhone, gim.url);
    expect((await call("pb.LogicExt/GetFriends", {}, { ...bob, token: "forged" }, gim.url)).status).toBe(401);

    const aliceSocket = await connect(alice, gim.url);
    const bobSocket = await connect(bob, gim.url);
    expect((await sendText(aliceSocket, bob.userId, "hi bob")).code).toBe(0);
    const pushed = await nextPush(bobSocket);
    expect(pushed.sender?.nickname).toBe("Alice from the business");

    const persisted = await waitFor("the message event", async () =>
      (await events()).find((e) => e.type === "message.persisted" && e.user_id === bob.userId && e.seq === 1),
    );
    expect(persisted).toMatchObject({ sender_id: alice.userId, receiver_type: "RT_USER", message_type: "MT_TEXT" });
    expect(persisted.offline_devices).toEqual([{ device_id: bobPhone.deviceId, brand_push_id: "apns-token-123" }]);
    expect((await events()).filter((e) => e.type === "device.online").map((e) => e.user_id)).toEqual(expect.arrayContaining([alice.userId, bob.userId]));

    // Moderation: rejected and rewritten messages.
    const rejected = await sendText(aliceSocket, bob.userId, "a forbidden word");
    expect([rejected.code, rejected.message]).toEqual([10020, "message rejected: this word is not allowed here"]);
    expect((await sendText(aliceSocket, bob.userId, "darn it")).code).toBe(0);
    expect(pb.Text.decode((await nextPush(bobSocket)).messageContent).text).toBe("d**n it");

    // The business goes down: new sign-ins fail clearly, existing connections keep working.
    const port = Number(new URL(businessUrl).port);
    await stopBusiness();
    const refused = await call("pb.LogicExt/GetFriends", {}, { ...bob, token: "never-seen-before" }, gim.url);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: "unavailable", gimCode: 14 });
    expect((await sendText(aliceSocket, bob.userId, "while it is down")).code).toBe(0);
    expect(pb.Text.decode((await nextPush(bobSocket)).messageContent).text).toBe("while it is down");

    // It comes back: the events of the outage arrive, none lost, none twice.
    business = await startBusiness(port);
    const bobEvents = await waitFor("the outage's events", async () => {
      const list = (await events()).filter((e) => e.type === "message.persisted" && e.user_id === bob.userId);
      return list.length >= 3 && list;
    }, 40_000);
    expect(bobEvents.map((e) => e.seq)).toEqual([1, 2, 3]);
  }, 90_000);

  it("reports friend and group changes as events, from the objects that own them", async () => {
    const alice = await user("Ann");
    const bob = await user("Ben");
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId, description: "hi" }, alice, gim.url);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob, gim.url);
    const { groupId } = await ok("pb.LogicExt/CreateGroup", { name: "team", memberIds: [bob.userId] }, alice, gim.url);
    // A retried group send is answered from the sender's inbox: the hook is asked once.
    const hookBefore = (await app("/admin/calls", {})).beforeSend ?? 0;
    const send = { receiverType: "RT_GROUP", receiverId: groupId, messageType: "MT_TEXT", messageContent: Buffer.from(textContent("hi team")).toString("base64"), isPersist: true, clientMsgId: "team-1" };
    const sent = await ok("pb.LogicExt/SendMessage", send, alice, gim.url);
    expect((await ok("pb.LogicExt/SendMessage", send, alice, gim.url)).seq).toBe(sent.seq);
    expect((await app("/admin/calls", {})).beforeSend - hookBefore).toBe(1);
    await ok("pb.LogicExt/LeaveGroup", { groupId }, bob, gim.url);
    const seen = await waitFor("friend and group events", async () => {
      const list = await events();
      const friend = list.filter((e) => e.type.startsWith("friend.") && [alice.userId, bob.userId].includes(e.user_id));
      const group = list.filter((e) => e.group_id === Number(groupId));
      return friend.length >= 2 && group.length >= 2 && { friend, group };
    });
    expect(seen.friend.map((e) => [e.type, e.user_id, e.friend_id])).toEqual([
      ["friend.requested", bob.userId, alice.userId],
      ["friend.agreed", alice.userId, bob.userId],
    ]);
    expect(seen.group.map((e) => e.type)).toEqual(["group.created", "group.member_removed"]);
    expect(seen.group[0]).toMatchObject({ owner_id: alice.userId, member_ids: [alice.userId, bob.userId] });
  });

  it("speaks binary proto to the business when BUSINESS_ENCODING=proto", async () => {
    const protoGim = await startLocalServer({
      port: 0,
      stateDir: join(dir, "gim-proto"),
      quiet: true,
      vars: { DEV_SIGNIN_CODE: "", BUSINESS_URL: businessUrl, BUSINESS_SECRET: SECRET, BUSINESS_ENCODING: "proto" },
    });
    try {
      const { user_id: aliceId } = await app("/app/sign-up", { nickname: "Proto Alice" });
      const { user_id: bobId } = await app("/app/sign-up", { nickname: "Proto Bob" });
      const sessions: Session[] = [];
      for (const userId of [aliceId, bobId]) {
        const device = await ok("pb.LogicExt/RegisterDevice", { type: 1, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" }, undefined, protoGim.url);
        const { token } = await app("/app/sign-in", { user_id: userId, device_id: device.deviceId });
        sessions.push({ userId, deviceId: Number(device.deviceId), token });
      }
      const [alice, bob] = sessions as [Session, Session];
      const bobSocket = await connect(bob, protoGim.url);
      await ok("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: Buffer.from(textContent("over proto")).toString("base64"), isPersist: true }, alice, protoGim.url);
      expect((await nextPush(bobSocket)).sender?.nickname).toBe("Proto Alice");
      bobSocket.close();
    } finally {
      await protoGim.stop();
    }
  });

  it("refuses unsigned answers, a hanging business and replayed requests; drops oversize profiles", async () => {
    const alice = await user("Alice");
    const carol = await user("Carol");
    await app("/admin/mode", { unsigned: true });
    const unsigned = await call("pb.LogicExt/GetFriends", {}, alice, gim.url);
    expect(unsigned.status).toBe(503);
    expect(unsigned.body.message).toContain("not signed correctly");
    await app("/admin/mode", { unsigned: false, delayMs: 3_000 });
    const started = Date.now();
    const slow = await call("pb.LogicExt/GetFriends", {}, alice, gim.url);
    expect(slow.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_900); // three 500 ms attempts, not the business's 3 s
    // A proxy in front of the business answers 502 unsigned: retried like any 5xx (new users, so
    // that their Auth is not cached).
    await app("/admin/mode", { delayMs: 0 });
    const [dave, erin] = [await user("Dave"), await user("Erin")];
    await app("/admin/mode", { proxyErrors: 2 });
    expect((await call("pb.LogicExt/GetFriends", {}, dave, gim.url)).status).toBe(200); // the third attempt
    await app("/admin/mode", { proxyErrors: 3 });
    const allRefused = await call("pb.LogicExt/GetFriends", {}, erin, gim.url);
    expect(allRefused.body).toMatchObject({ code: "unavailable", message: expect.stringContaining("unavailable") });
    await app("/admin/mode", { proxyErrors: 0 });
    // A client's first requests come together: one Auth call checks them all.
    const fay = await user("Fay");
    const authBefore = (await app("/admin/calls", {})).Auth ?? 0;
    const answers = await Promise.all(Array.from({ length: 5 }, () => call("pb.LogicExt/GetFriends", {}, fay, gim.url)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await app("/admin/calls", {})).Auth - authBefore).toBe(1);
    await app("/admin/mode", { delayMs: 0, hugeProfileUserId: carol.userId });
    const carolSocket = await connect(carol, gim.url);
    const aliceSocket = await connect(alice, gim.url);
    expect((await sendText(carolSocket, alice.userId, "from a huge profile")).code).toBe(0);
    expect((await nextPush(aliceSocket)).sender?.nickname).toBe("");
    await app("/admin/mode", { hugeProfileUserId: 0 });

    // The template refuses a replayed request: the same signed body and headers twice.
    const body = JSON.stringify({ userId: alice.userId, deviceId: alice.deviceId, token: alice.token });
    const timestamp = String(Date.now());
    const headers = { "content-type": "application/json", "x-gim-timestamp": timestamp, "x-gim-signature": createHmac("sha256", SECRET).update(`${timestamp}.${body}`).digest("hex") };
    expect((await fetch(`${businessUrl}/pb.BusinessInt/Auth`, { method: "POST", headers, body })).status).toBe(200);
    expect((await fetch(`${businessUrl}/pb.BusinessInt/Auth`, { method: "POST", headers, body })).status).toBe(401);
  }, 60_000);
});
