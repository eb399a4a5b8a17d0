// Setup calls of bench/relay.mjs: users and devices. Unlike lib's createUsers, a call is retried
// on a network failure and each round gets its own phone prefix (`label`).
import { log, mapLimit, sleep } from "../lib.mjs";

/** A setup call; retried twice on a network failure (a busy server may drop a keep-alive socket). */
async function post(baseUrl, path, body, attempt = 1) {
  let res;
  try {
    res = await fetch(`${baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    if (attempt >= 3) {
      throw err;
    }
    await sleep(500 * attempt);
    return post(baseUrl, path, body, attempt + 1);
  }
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${path} -> HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  return JSON.parse(text);
}

/** `users` users with `perUser` devices each: [{ userId, devices: [{ userId, deviceId, token }] }]. */
export async function createUsers(baseUrl, users, perUser, label) {
  const prefix = `${String(Date.now() % 1e9).padStart(9, "0")}${label}`;
  let done = 0;
  return mapLimit(Array.from({ length: users }, (_, i) => i), 16, async (i) => {
    const phone = `${prefix}${String(i).padStart(5, "0")}`;
    const user = { userId: 0, devices: [] };
    for (let d = 0; d < perUser; d++) {
      const { deviceId } = await post(baseUrl, "/pb.LogicExt/RegisterDevice", { type: 1, brand: "bench", model: "relay", systemVersion: "1", sdkVersion: "1" });
      const res = await post(baseUrl, "/pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId });
      user.userId = Number(res.userId);
      user.devices.push({ userId: user.userId, deviceId: Number(deviceId), token: res.token });
    }
    if (++done % 500 === 0) {
      log(`  ${done}/${users} users`);
    }
    return user;
  });
}
