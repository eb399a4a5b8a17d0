import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userInbox } from "../../workers/stubs";
import { call, newDevice, ok, signIn, uniquePhone } from "./helpers";

describe("devices", () => {
  it("registers a device without credentials and returns its id", async () => {
    const first = await newDevice();
    const second = await newDevice(1);
    expect(first).toBeGreaterThan(0);
    expect(second).toBe(first + 1);
  });

  it.each([
    [{ type: 0, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" }, "type"],
    [{ type: 9, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" }, "type"],
    [{ type: 1, model: "m", systemVersion: "1", sdkVersion: "1" }, "brand"],
    [{ type: 1, brand: "b", systemVersion: "1", sdkVersion: "1" }, "model"],
    [{ type: 1, brand: "b", model: "m", sdkVersion: "1" }, "system_version"],
    [{ type: 1, brand: "b", model: "m", systemVersion: "1" }, "sdk_version"],
  ])("refuses %j naming the bad field", async (body, field) => {
    const res = await call("pb.LogicExt/RegisterDevice", body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "invalid_argument", gimCode: 10001 });
    expect(res.body.message).toContain(field);
  });
});

describe("SignIn (built-in business)", () => {
  it("creates the user on first sign-in and finds it afterwards", async () => {
    const phone = uniquePhone();
    const deviceId = await newDevice();
    const first = await ok("pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId });
    const again = await ok("pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId });
    expect(first.isNew).toBe(true);
    expect(again.isNew ?? false).toBe(false);
    expect(again.userId).toBe(first.userId);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(again.token).not.toBe(first.token);
  });

  it("refuses a wrong code, a missing device and a malformed phone", async () => {
    const deviceId = await newDevice();
    const wrongCode = await call("pb.BusinessExt/SignIn", { phoneNumber: uniquePhone(), code: "1234", deviceId });
    expect(wrongCode.status).toBe(401);
    expect(wrongCode.body.gimCode).toBe(10010);
    const noDevice = await call("pb.BusinessExt/SignIn", { phoneNumber: uniquePhone(), code: "0000", deviceId: 99_999_999 });
    expect(noDevice.status).toBe(404);
    expect(noDevice.body.gimCode).toBe(10014);
    const badPhone = await call("pb.BusinessExt/SignIn", { phoneNumber: "not a phone", code: "0000", deviceId });
    expect(badPhone.status).toBe(400);
  });

  it("replaces only the signing-in device's token", async () => {
    const phone = uniquePhone();
    const laptop = await signIn(phone);
    const phoneDevice = await signIn(phone);
    const renewed = await ok("pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId: laptop.deviceId });
    const stale = await call("pb.BusinessExt/GetUser", {}, laptop);
    expect(stale.status).toBe(401);
    expect(stale.body.gimCode).toBe(10000);
    expect((await call("pb.BusinessExt/GetUser", {}, { ...laptop, token: renewed.token })).status).toBe(200);
    expect((await call("pb.BusinessExt/GetUser", {}, phoneDevice)).status).toBe(200);
  });

  it("refuses an expired token", async () => {
    const alice = await signIn();
    await runInDurableObject(userInbox(env, alice.userId), (_inbox, state) => {
      state.storage.sql.exec("UPDATE device_tokens SET expires_at = ?", Date.now() - 1);
    });
    const res = await call("pb.BusinessExt/GetUser", {}, alice);
    expect(res.status).toBe(401);
    expect(res.body.message).toContain("expired");
  });

  it("stores tokens only as hashes", async () => {
    const alice = await signIn();
    const stored = await runInDurableObject(userInbox(env, alice.userId), (_inbox, state) =>
      state.storage.sql.exec<{ token_hash: string }>("SELECT token_hash FROM device_tokens").one().token_hash,
    );
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(alice.token);
  });
});

describe("users", () => {
  it("GetUser returns the asked user (gim returned the caller), or the caller for user_id 0", async () => {
    const alice = await signIn();
    const bob = await signIn();
    await ok("pb.BusinessExt/UpdateUser", { nickname: "Bob", sex: 1, avatarUrl: "https://b", extra: "{}" }, bob);
    const asked = await ok("pb.BusinessExt/GetUser", { userId: bob.userId }, alice);
    expect(asked.user).toMatchObject({ userId: String(bob.userId), nickname: "Bob", sex: 1, avatarUrl: "https://b", extra: "{}" });
    const self = await ok("pb.BusinessExt/GetUser", {}, alice);
    expect(self.user.userId).toBe(String(alice.userId));
    const missing = await call("pb.BusinessExt/GetUser", { userId: 88_888_888 }, alice);
    expect(missing.status).toBe(404);
    expect(missing.body.gimCode).toBe(10016);
  });

  it("UpdateUser validates its fields", async () => {
    const alice = await signIn();
    expect((await call("pb.BusinessExt/UpdateUser", { nickname: "x".repeat(65) }, alice)).status).toBe(400);
    expect((await call("pb.BusinessExt/UpdateUser", { sex: 7 }, alice)).status).toBe(400);
  });

  it("SearchUser pages through nickname matches with a page token", async () => {
    const marker = `zq${Date.now() % 1e6}`;
    const users = [];
    for (let i = 0; i < 5; i++) {
      const user = await signIn();
      await ok("pb.BusinessExt/UpdateUser", { nickname: `${marker}-${i}` }, user);
      users.push(user);
    }
    const first = await ok("pb.BusinessExt/SearchUser", { key: marker, pageSize: 2 }, users[0]);
    expect(first.users.map((u: { nickname: string }) => u.nickname)).toEqual([`${marker}-0`, `${marker}-1`]);
    const second = await ok("pb.BusinessExt/SearchUser", { key: marker, pageSize: 2, pageToken: first.nextPageToken }, users[0]);
    expect(second.users.map((u: { nickname: string }) => u.nickname)).toEqual([`${marker}-2`, `${marker}-3`]);
    const third = await ok("pb.BusinessExt/SearchUser", { key: marker, pageSize: 2, pageToken: second.nextPageToken }, users[0]);
    expect(third.users.map((u: { nickname: string }) => u.nickname)).toEqual([`${marker}-4`]);
    expect(third.nextPageToken ?? "").toBe("");
    expect((await call("pb.BusinessExt/SearchUser", { key: "" }, users[0])).status).toBe(400);
    expect((await ok("pb.BusinessExt/SearchUser", { key: "%" }, users[0])).users ?? []).toEqual([]);
  });
});
