// The server a benchmark drives (the local stack in this process, or a running one on 127.0.0.1)
// and its HTTP API: users, devices, sends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapLimit, phonePrefix } from "./util.mjs";

// ---------------------------------------------------------------- server

/**
 * Starts the local stack in this process (a fresh state dir made under `tmpBase`, default the
 * OS temp dir) or uses `url`. Returns { url, stop(), inProcess, stateDir }.
 */
export async function openServer(url, tmpBase = "") {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  if (url) {
    const parsed = new URL(url);
    if (parsed.hostname !== "127.0.0.1" && parsed.hostname !== "localhost") {
      throw new Error("--url must point at 127.0.0.1 (the benchmarks never target another host)");
    }
    return { url: `http://127.0.0.1:${parsed.port || 80}`, inProcess: false, stop: async () => {} };
  }
  const { startLocalServer } = await import("../../scripts/local-server.mjs");
  const stateDir = mkdtempSync(join(tmpBase || tmpdir(), "gim-bench-"));
  // GIM_VAR_<NAME>=value in the environment sets the Worker variable NAME (e.g. a limit to compare).
  const vars = Object.fromEntries(
    Object.entries(process.env)
      .filter(([name]) => name.startsWith("GIM_VAR_"))
      .map(([name, value]) => [name.slice("GIM_VAR_".length), value]),
  );
  const server = await startLocalServer({ port: 0, stateDir, quiet: true, vars });
  return {
    url: server.url.replace("localhost", "127.0.0.1"),
    inProcess: true,
    stateDir,
    async stop() {
      try {
        await server.stop();
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

// ---------------------------------------------------------------- HTTP API

export async function call(baseUrl, path, body, headers = {}, timeoutMs = 30_000) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${path} -> HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  return JSON.parse(text);
}

const DEVICE = { type: 5, brand: "bench", model: "bench", systemVersion: "1", sdkVersion: "1" };

/**
 * Registers `users` users with `devicesPerUser` devices each (setup calls at most `concurrency`
 * at a time; one user's sign-ins one after another). Returns
 * [{ userId, phone, devices: [{ deviceId, token }] }].
 */
export async function createUsers(baseUrl, users, devicesPerUser, concurrency = 8, onProgress = () => {}) {
  const prefix = phonePrefix();
  let done = 0;
  return mapLimit(Array.from({ length: users }, (_, i) => i), concurrency, async (i) => {
    const phone = `${prefix}${String(i).padStart(6, "0")}`;
    const user = { userId: 0, phone, devices: [] };
    for (let d = 0; d < devicesPerUser; d++) {
      const { deviceId } = await call(baseUrl, "/pb.LogicExt/RegisterDevice", DEVICE);
      const signIn = await call(baseUrl, "/pb.BusinessExt/SignIn", { phoneNumber: phone, code: "0000", deviceId });
      const userId = Number(signIn.userId);
      if (user.userId && user.userId !== userId) {
        throw new Error(`phone ${phone} signed in as two users (${user.userId}, ${userId})`);
      }
      user.userId = userId;
      user.devices.push({ userId, deviceId: Number(deviceId), token: signIn.token });
    }
    onProgress(++done);
    return user;
  });
}

/** POST /pb.LogicExt/SendMessage as `device` (HTTP send path). */
export function httpSend(baseUrl, device, receiverId, content, clientMsgId) {
  return call(
    baseUrl,
    "/pb.LogicExt/SendMessage",
    {
      receiverType: "RT_USER",
      receiverId: String(receiverId),
      messageType: "MT_TEXT",
      messageContent: Buffer.from(content).toString("base64"),
      isPersist: true,
      clientMsgId,
    },
    { user_id: String(device.userId), device_id: String(device.deviceId), token: device.token },
  );
}
