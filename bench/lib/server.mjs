// The server a benchmark drives (the local stack in this process, or a running one on 127.0.0.1)
// and its HTTP API: users, devices, sends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapLimit, phonePrefix } from "./util.mjs";

// ---------------------------------------------------------------- server

/**
 * Starts the local stack in this process or uses `url`. Options of the local stack: `tmpBase`
 * (where its fresh state dir is made, default the OS temp dir), `prefix` (the dir's name),
 * `quiet` (Miniflare's log at warnings only, default true) and `vars` (Worker variables, on top
 * of GIM_VAR_<NAME> from the environment). Returns { url, stop(), inProcess, stateDir }; stop()
 * also removes the state dir.
 */
export async function openServer(url, { tmpBase = "", prefix = "gim-bench-", quiet = true, vars = {} } = {}) {
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
  const stateDir = mkdtempSync(join(tmpBase || tmpdir(), prefix));
  // GIM_VAR_<NAME>=value in the environment sets the Worker variable NAME (e.g. a limit to compare).
  const envVars = Object.fromEntries(
    Object.entries(process.env)
      .filter(([name]) => name.startsWith("GIM_VAR_"))
      .map(([name, value]) => [name.slice("GIM_VAR_".length), value]),
  );
  let server;
  try {
    server = await startLocalServer({ port: 0, stateDir, quiet, vars: { ...envVars, ...vars } });
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
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
