import { env, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { readAttachment, writeAttachment, type SocketAttachment } from "../../durable-objects/user-inbox/sockets";
import { userInbox } from "../../workers/stubs";
import { connect, signIn, syncPage, TestSocket, textContent, uniquePhone } from "./helpers";

async function upgrade(query: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(`http://gim.test/ws?${query}`, { headers: { upgrade: "websocket", ...headers } });
}

describe("WebSocket upgrade", () => {
  it("refuses missing, forged and other users' credentials with 401 and a Connect error", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const cases = [
      "",
      `user_id=${alice.userId}&device_id=${alice.deviceId}`,
      `user_id=${alice.userId}&device_id=${alice.deviceId}&token=forged`,
      `user_id=${bob.userId}&device_id=${alice.deviceId}&token=${alice.token}`,
      `user_id=abc&device_id=${alice.deviceId}&token=${alice.token}`,
      `user_id=0x${alice.userId.toString(16)}&device_id=${alice.deviceId}&token=${alice.token}`, // decimal ids only
    ];
    for (const query of cases) {
      const res = await upgrade(query);
      expect(res.status, query).toBe(401);
      expect(res.webSocket).toBeNull();
      expect(await res.json()).toMatchObject({ code: "unauthenticated", gimCode: 10000 });
    }
  });

  it("refuses credentials of an id that is no user without creating an object for it", async () => {
    const nobody = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    const res = await upgrade(`user_id=${nobody}&device_id=1&token=forged`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthenticated", gimCode: 10000, message: "invalid token: sign in again" });
    const http = await exports.default.fetch("http://gim.test/pb.LogicExt/GetFriends", {
      method: "POST",
      headers: { "content-type": "application/json", user_id: String(nobody), device_id: "1", token: "forged" },
      body: "{}",
    });
    expect(http.status).toBe(401);
    const somebody = await signIn(); // whose object the listing does show
    const created = (await listDurableObjectIds(env.USER_INBOX)).map((id) => id.toString());
    expect(created).not.toContain(env.USER_INBOX.idFromName(`user:${nobody}`).toString());
    expect(created).toContain(env.USER_INBOX.idFromName(`user:${somebody.userId}`).toString());
  });

  it("refuses an expired token with 401", async () => {
    const alice = await signIn();
    await runInDurableObject(userInbox(env, alice.userId), (_inbox, state) => {
      state.storage.sql.exec("UPDATE device_tokens SET expires_at = ?", Date.now() - 1);
    });
    const res = await upgrade(`user_id=${alice.userId}&device_id=${alice.deviceId}&token=${alice.token}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthenticated", gimCode: 10000, message: expect.stringContaining("expired") });
  });

  it("accepts credentials in headers", async () => {
    const alice = await signIn();
    const res = await upgrade("", { user_id: String(alice.userId), device_id: String(alice.deviceId), token: alice.token });
    expect(res.status).toBe(101);
    res.webSocket?.accept();
    res.webSocket?.close();
  });

  it("closes the older connection of the same device with 4500", async () => {
    const alice = await signIn();
    const first = await connect(alice);
    const second = await connect(alice);
    expect(await first.closedWith()).toMatchObject({ code: 4500 });
    second.send(pb.PackageType.PT_HEARTBEAT, 7);
    expect((await second.reply(7)).code).toBe(0);
  });
});

describe("gim's socket flow", () => {
  it("answers PT_SIGN_IN with code 0, echoes heartbeats and answers a text ping with pong", async () => {
    const alice = await signIn();
    const socket = await connect(alice);
    socket.send(pb.PackageType.PT_SIGN_IN, 1, pb.SignInInput.encode({ userId: alice.userId, deviceId: alice.deviceId, token: alice.token }).finish());
    const signedIn = await socket.reply(1);
    expect([signedIn.type, signedIn.code]).toEqual([pb.PackageType.PT_SIGN_IN, 0]);
    socket.send(pb.PackageType.PT_HEARTBEAT, 2);
    const beat = await socket.reply(2);
    expect([beat.type, beat.code]).toEqual([pb.PackageType.PT_HEARTBEAT, 0]);
    socket.ws.send("ping");
    expect(await socket.until(() => socket.frames.find((f) => f === "pong"), "pong")).toBe("pong");
  });

  it("answers a PT_SIGN_IN with wrong credentials with 10000 and closes with 4501", async () => {
    const alice = await signIn();
    const socket = await connect(alice);
    socket.send(pb.PackageType.PT_SIGN_IN, 3, pb.SignInInput.encode({ userId: alice.userId, deviceId: alice.deviceId, token: "wrong" }).finish());
    const reply = await socket.reply(3);
    expect(reply.code).toBe(10000);
    expect(await socket.closedWith()).toMatchObject({ code: 4501 });
  });

  it("refuses a PT_SIGN_IN naming another user or device with 10000 and closes with 4501", async () => {
    const alice = await signIn();
    const bob = await signIn();
    for (const claimed of [
      { userId: bob.userId, deviceId: alice.deviceId },
      { userId: alice.userId, deviceId: bob.deviceId },
    ]) {
      const socket = await connect(alice);
      socket.send(pb.PackageType.PT_SIGN_IN, 3, pb.SignInInput.encode({ ...claimed, token: alice.token }).finish());
      expect((await socket.reply(3)).code).toBe(10000);
      expect(await socket.closedWith()).toMatchObject({ code: 4501 });
    }
  });

  it("answers a failed PT_SIGN_IN sent as JSON in JSON, on a socket opened for binary", async () => {
    const alice = await signIn();
    const socket = await connect(alice);
    socket.ws.send(JSON.stringify({ type: "PT_SIGN_IN", requestId: 4, data: { userId: alice.userId, deviceId: alice.deviceId, token: "wrong" } }));
    await socket.closedWith();
    expect(socket.frames).toEqual([expect.objectContaining({ type: "PT_SIGN_IN", requestId: "4", code: 10000 })]);
    expect(socket.closed).toMatchObject({ code: 4501 });
  });

  it("answers a send over the socket to a user that does not exist with 10016 and keeps the socket", async () => {
    const socket = await connect(await signIn());
    const req = { receiverType: pb.ReceiverType.RT_USER, receiverId: 88_888_888, messageType: pb.MessageType.MT_TEXT, messageContent: textContent("x"), isPersist: true };
    socket.send(pb.PackageType.PT_SEND_MESSAGE, 5, pb.SendMessageReq.encode(req).finish());
    expect((await socket.reply(5)).code).toBe(10016);
    socket.send(pb.PackageType.PT_HEARTBEAT, 6);
    expect((await socket.reply(6)).code).toBe(0);
  });

  it("speaks proto3 JSON in text frames, with data as a JSON object", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const socket = await connect(alice, "&format=json");
    socket.ws.send(JSON.stringify({ type: "PT_SEND_MESSAGE", request_id: "5", data: { receiver_type: "RT_USER", receiver_id: String(bob.userId), message_type: "MT_TEXT", message_content: btoa("\n\u0002hi"), is_persist: true } }));
    const sent = await socket.until(() => socket.frames.find((f) => !(f instanceof pb.Output) && (f as { requestId?: string }).requestId === "5"), "json reply") as Record<string, any>;
    expect(sent).toMatchObject({ type: "PT_SEND_MESSAGE", requestId: "5", data: { seq: "1" } });
    socket.ws.send(JSON.stringify({ type: "PT_SYNC", requestId: 6, data: { seq: 0 } }));
    const synced = await socket.until(() => socket.frames.find((f) => !(f instanceof pb.Output) && (f as { requestId?: string }).requestId === "6"), "json sync") as Record<string, any>;
    expect(synced.type).toBe("PT_SYNC");
    // The sending device acked its own copy: nothing to sync, and the inbox stands at 1.
    expect(synced.data).toEqual({ lastSeq: "1" });
  });
});

describe("bad input on the socket", () => {
  async function expectStillServing(socket: TestSocket) {
    socket.send(pb.PackageType.PT_HEARTBEAT, 99);
    expect((await socket.reply(99)).code).toBe(0);
    expect(socket.closed).toBeNull();
  }

  it("answers malformed protobuf with 10001 and keeps the socket", async () => {
    const socket = await connect(await signIn());
    socket.ws.send(new Uint8Array([0x1a, 0x10, 0x01])); // data claims 16 bytes, carries 1
    const reply = await socket.next((o) => o.code !== 0, "error");
    expect(reply.code).toBe(10001);
    socket.send(pb.PackageType.PT_SYNC, 4, new Uint8Array([0xff, 0xff]));
    expect((await socket.reply(4)).code).toBe(10001);
    await expectStillServing(socket);
  });

  it("answers an unknown packet type with 10003", async () => {
    const socket = await connect(await signIn());
    socket.send(42 as pb.PackageType, 8);
    const reply = await socket.reply(8);
    expect(reply.code).toBe(10003);
    await expectStillServing(socket);
  });

  it("answers a frame over the limit with 10002", async () => {
    const socket = await connect(await signIn());
    socket.send(pb.PackageType.PT_SEND_MESSAGE, 9, pb.SendMessageReq.encode({ receiverType: 1, receiverId: 1, messageContent: new Uint8Array(70_000) }).finish());
    const reply = await socket.reply(9);
    expect(reply.code).toBe(10002);
    await expectStillServing(socket);
  });

  it("counts a text frame in UTF-8 bytes against the limit", async () => {
    const socket = await connect(await signIn(), "&format=json");
    // 25,000 characters of three UTF-8 bytes each: 75,000 bytes on the wire.
    const data = { receiverType: "RT_USER", receiverId: 1, messageType: "MT_TEXT", messageContent: "", isPersist: true, clientMsgId: "中".repeat(25_000) };
    socket.ws.send(JSON.stringify({ type: "PT_SEND_MESSAGE", requestId: 10, data }));
    const reply = (await socket.until(() => socket.frames.find((f) => (f as { requestId?: string }).requestId === "10"), "reply 10")) as Record<string, unknown>;
    expect(reply.code).toBe(10002);
  });

  it("answers a JSON text frame that is not an object with 10001", async () => {
    const socket = await connect(await signIn(), "&format=json");
    socket.ws.send("5");
    const reply = (await socket.until(() => socket.frames.find((f) => typeof f === "object"), "an error")) as Record<string, unknown>;
    expect(reply).toMatchObject({ code: 10001, message: expect.stringContaining("JSON object") });
  });

  it("answers invalid JSON and wrongly typed JSON with 10001", async () => {
    const socket = await connect(await signIn(), "&format=json");
    socket.ws.send("{not json");
    socket.ws.send(JSON.stringify({ type: "PT_SYNC", requestId: 11, data: { seq: "many" } }));
    const errors = await socket.until(() => {
      const found = socket.frames.filter((f) => !(f instanceof pb.Output) && (f as { code?: number }).code === 10001);
      return found.length >= 2 ? found : undefined;
    }, "two errors");
    expect(errors.map((e) => (e as { requestId?: string }).requestId ?? "0").sort()).toEqual(["0", "11"]);
  });

  it("answers a room subscription with a negative room id with 10001", async () => {
    const socket = await connect(await signIn());
    socket.send(pb.PackageType.PT_SUBSCRIBE_ROOM, 12, pb.SubscribeRoomInput.encode({ roomId: -1 }).finish());
    expect((await socket.reply(12)).code).toBe(10001);
    await expectStillServing(socket);
  });

  it("does not disturb another user while one socket sends garbage", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const garbage = await connect(alice);
    const bobSocket = await connect(bob);
    for (let i = 0; i < 20; i++) {
      garbage.ws.send(new Uint8Array([i, 0xff, 0x00, 0x13]));
    }
    const aliceHttp = await exports.default.fetch("http://gim.test/pb.LogicExt/SendMessage", {
      method: "POST",
      headers: { "content-type": "application/json", user_id: String(alice.userId), device_id: String(alice.deviceId), token: alice.token },
      body: JSON.stringify({ receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: btoa(String.fromCharCode(...textContent("fine"))), isPersist: true }),
    });
    expect(aliceHttp.status).toBe(200);
    expect((await bobSocket.pushes(1))[0]?.seq).toBe(1);
  });
});

describe("idle timeout", () => {
  it("closes a socket that sent nothing for the idle timeout with 4012", async () => {
    const alice = await signIn(uniquePhone());
    const idle = await connect(alice);
    const stub = userInbox(env, alice.userId);
    await runInDurableObject(stub, (_inbox, state) => {
      const longAgo = Date.now() - 13 * 60_000;
      for (const ws of state.getWebSockets()) {
        writeAttachment(ws, { ...(readAttachment(ws) as SocketAttachment), lastSeenAt: longAgo, connectedAt: longAgo });
      }
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await idle.closedWith()).toMatchObject({ code: 4012 });
  });

  it("keeps a socket whose client sends only text pings, which do not wake the object", async () => {
    const phone = uniquePhone();
    const alice = await signIn(phone);
    const pinging = await connect(alice);
    const silent = await connect(await signIn(phone));
    const stub = userInbox(env, alice.userId);
    await runInDurableObject(stub, (_inbox, state) => {
      const longAgo = Date.now() - 13 * 60_000;
      for (const ws of state.getWebSockets()) {
        writeAttachment(ws, { ...(readAttachment(ws) as SocketAttachment), lastSeenAt: longAgo, connectedAt: longAgo });
      }
    });
    pinging.ws.send("ping");
    await pinging.until(() => pinging.frames.includes("pong"), "pong");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await silent.closedWith()).toMatchObject({ code: 4012 });
    expect(pinging.closed).toBeNull();
  });

  it("keeps a socket that is active", async () => {
    const alice = await signIn();
    const active = await connect(alice);
    expect(await runDurableObjectAlarm(userInbox(env, alice.userId))).toBe(true);
    expect((await syncPage(active, 0)).messages).toHaveLength(0);
    expect(active.closed).toBeNull();
  });
});
