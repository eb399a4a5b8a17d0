import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { call, connect, newDevice, signIn, syncAll, uniquePhone } from "./helpers";

async function raw(path: string, init: RequestInit) {
  const res = await exports.default.fetch(`http://gim.test/${path}`, { method: "POST", ...init });
  return { status: res.status, type: res.headers.get("content-type"), bytes: new Uint8Array(await res.arrayBuffer()) };
}

describe("Connect unary form", () => {
  it("accepts snake_case and lowerCamelCase names and int64 as string or number", async () => {
    const deviceId = await newDevice();
    const snake = await call("pb.BusinessExt/SignIn", { phone_number: uniquePhone(), code: "0000", device_id: deviceId });
    const camel = await call("pb.BusinessExt/SignIn", { phoneNumber: uniquePhone(), code: "0000", deviceId: String(deviceId) });
    expect([snake.status, camel.status]).toEqual([200, 200]);
    expect(snake.body.userId).toMatch(/^\d+$/); // int64 emitted as a string
  });

  it("accepts bytes in URL-safe base64 as well as the standard alphabet", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const content = new Uint8Array([0xfb, 0xef, 0xbe, 0xff, 0xfe]);
    const standard = btoa(String.fromCharCode(...content)); // "++++//4=": both characters that differ
    const urlSafe = standard.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    for (const encoded of [standard, urlSafe]) {
      const res = await call("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_CUSTOM", messageContent: encoded, isPersist: true }, alice);
      expect(res.status, encoded).toBe(200);
    }
    const { messages } = await syncAll(await connect(bob), 0);
    expect(messages.map((m) => Array.from(m.messageContent))).toEqual([Array.from(content), Array.from(content)]);
  });

  it("speaks application/proto both ways", async () => {
    const deviceId = await newDevice();
    const res = await raw("pb.BusinessExt/SignIn", {
      headers: { "content-type": "application/proto" },
      body: pb.SignInReq.encode({ phoneNumber: uniquePhone(), code: "0000", deviceId }).finish(),
    });
    expect(res.status).toBe(200);
    expect(res.type).toBe("application/proto");
    const signedIn = pb.SignInResp.decode(res.bytes);
    expect(signedIn.isNew).toBe(true);
    expect(signedIn.token).toHaveLength(43);
  });

  it("answers bad bodies with invalid_argument and the gim code", async () => {
    const invalidJson = await raw("pb.LogicExt/RegisterDevice", { headers: { "content-type": "application/json" }, body: "{oops" });
    const notObject = await call("pb.LogicExt/RegisterDevice", [1, 2]);
    const wrongType = await call("pb.LogicExt/RegisterDevice", { type: "many" });
    const badProto = await raw("pb.LogicExt/RegisterDevice", { headers: { "content-type": "application/proto" }, body: new Uint8Array([0x12, 0x50, 0x41]) });
    for (const res of [invalidJson, badProto]) {
      expect(res.status).toBe(400);
      expect(JSON.parse(new TextDecoder().decode(res.bytes))).toMatchObject({ code: "invalid_argument", gimCode: 10001 });
    }
    for (const res of [notObject, wrongType]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: "invalid_argument", gimCode: 10001 });
    }
  });

  it("refuses a body over 1 MiB with resource_exhausted, with or without a length", async () => {
    const big = new Uint8Array(1024 * 1024 + 1).fill(0x20);
    const withLength = await raw("pb.LogicExt/RegisterDevice", { headers: { "content-type": "application/json" }, body: big });
    const streamed = await raw("pb.LogicExt/RegisterDevice", {
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 17; i++) {
            controller.enqueue(big.subarray(0, 65_536));
          }
          controller.close();
        },
      }),
    });
    for (const res of [withLength, streamed]) {
      expect(res.status).toBe(429);
      expect(JSON.parse(new TextDecoder().decode(res.bytes))).toMatchObject({ code: "resource_exhausted", gimCode: 10002 });
    }
  });

  it("refuses other content types with 415 and unknown methods with 501", async () => {
    expect((await raw("pb.LogicExt/RegisterDevice", { headers: { "content-type": "text/plain" }, body: "x" })).status).toBe(415);
    const unknown = await call("pb.LogicExt/FlyToTheMoon", {});
    expect(unknown.status).toBe(501);
    expect(unknown.body.code).toBe("unimplemented");
    expect((await call("pb.Nothing/Here", {})).status).toBe(501);
  });

  it("requires credentials, refuses forged ones and a token used for another user id", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const missing = await call("pb.LogicExt/GetFriends", {});
    const forged = await call("pb.LogicExt/GetFriends", {}, { ...alice, token: "A".repeat(43) });
    const borrowed = await call("pb.LogicExt/GetFriends", {}, { ...alice, userId: bob.userId });
    const borrowedSend = await call("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: alice.userId, isPersist: true }, { ...alice, userId: bob.userId });
    for (const res of [missing, forged, borrowed, borrowedSend]) {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: "unauthenticated", gimCode: 10000 });
    }
    expect((await call("pb.LogicExt/GetFriends", {}, alice)).status).toBe(200);
  });

  it("accepts credentials under dashed header names too", async () => {
    const alice = await signIn();
    const res = await exports.default.fetch("http://gim.test/pb.LogicExt/GetFriends", {
      method: "POST",
      headers: { "content-type": "application/json", "user-id": String(alice.userId), "device-id": String(alice.deviceId), token: alice.token },
      body: "{}",
    });
    expect(res.status).toBe(200);
  });
});
