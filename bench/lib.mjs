// Shared helpers of the benchmarks: the local server, HTTP calls, users and devices, a socket
// client speaking the pb.Input / pb.Output protocol, statistics and workerd process figures.
// Every target is 127.0.0.1; every wait has a deadline.
import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { pb } from "../proto/gen/pb.js";

export { pb };

export const PT = pb.PackageType;

// ---------------------------------------------------------------- options

/**
 * Parses `--name value`, `--name=value` and bare `--flag` (true). `spec` maps option names to
 * defaults; the type of the default (number, boolean, string) decides how a value is read.
 */
export function parseArgs(spec, argv = process.argv.slice(2), usage = "") {
  const out = { ...spec };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      console.log(usage || `options: ${Object.keys(spec).map((k) => `--${k}`).join(" ")}`);
      process.exit(0);
    }
    if (!arg.startsWith("--")) {
      throw new Error(`unexpected argument ${arg}`);
    }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    if (!(name in spec)) {
      throw new Error(`unknown option --${name}${usage ? `\n${usage}` : ""}`);
    }
    const kind = typeof spec[name];
    if (value === undefined) {
      if (kind === "boolean") {
        value = "true";
      } else {
        value = argv[++i];
        if (value === undefined) {
          throw new Error(`--${name} needs a value`);
        }
      }
    }
    if (kind === "number") {
      const n = Number(value);
      if (!Number.isFinite(n)) {
        throw new Error(`--${name} must be a number`);
      }
      out[name] = n;
    } else if (kind === "boolean") {
      out[name] = value !== "false" && value !== "0";
    } else {
      out[name] = value;
    }
  }
  return out;
}

// ---------------------------------------------------------------- small utilities

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const now = () => performance.now();

/** Runs `fn(item, index)` over `items` with at most `limit` calls in flight; rejects on the first error. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed = null;
  async function worker() {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) {
    throw failed;
  }
  return results;
}

/** Waits until `cond()` is true, checking every `stepMs`; false when `timeoutMs` passed first. */
export async function waitFor(cond, timeoutMs, stepMs = 50) {
  const deadline = now() + timeoutMs;
  while (!cond()) {
    if (now() >= deadline) {
      return false;
    }
    await sleep(stepMs);
  }
  return true;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return NaN;
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** p50/p95/p99/max of an array of numbers (sorted in place as a Float64Array copy). */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/**
 * Latency of one synchronous 4 KiB write (write + fsync) in `dir`, repeated for `ms`: the disk's
 * speed when a run starts or ends. Every Durable Object commit ends in an fsync locally, so the
 * on-disk latency figures follow it (docs/benchmarks.md).
 */
export function diskSyncLatency(dir, ms = 1000) {
  const file = join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const page = Buffer.alloc(4096, 1);
  const times = [];
  try {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const start = performance.now();
      writeSync(fd, page, 0, page.length, 0);
      fsyncSync(fd);
      times.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return summarize(times);
}

export const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

export function log(...args) {
  const t = new Date().toISOString().slice(11, 23);
  console.error(`[${t}]`, ...args);
}

/** A unique 17-digit prefix for phone numbers of this run (the server keys users by phone). */
export function phonePrefix() {
  const time = String(Date.now() % 1e9).padStart(9, "0");
  const rand = String(Math.floor(Math.random() * 100)).padStart(2, "0");
  return `${time}${rand}`;
}

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
  const { startLocalServer } = await import("../scripts/local-server.mjs");
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

// ---------------------------------------------------------------- socket client

/**
 * One device connection. `onPush(message, recvAt)` gets every pushed pb.Message; requests
 * (send, sync, heartbeat) resolve with the decoded pb.Output.
 */
export class DeviceSocket {
  constructor(baseUrl, device, { onPush = null, onClose = null } = {}) {
    this.device = device;
    this.url = `${baseUrl.replace(/^http/, "ws")}/ws?user_id=${device.userId}&device_id=${device.deviceId}&token=${encodeURIComponent(device.token)}`;
    this.onPush = onPush;
    this.onClose = onClose;
    this.nextRequestId = 1;
    this.pending = new Map();
    this.ws = null;
    this.closed = false;
    this.closeInfo = null;
    this.pongs = 0;
  }

  /** Opens the socket; rejects after `timeoutMs`. */
  open(timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.ws = ws;
      let settled = false;
      ws.on("open", () => {
        settled = true;
        resolve(this);
      });
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          if (!settled) {
            settled = true;
            reject(new Error(`upgrade refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
          }
        });
      });
      ws.on("error", (err) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      ws.on("close", (code, reason) => {
        this.closed = true;
        this.closeInfo = { code, reason: reason.toString() };
        for (const { reject: rej, timer } of this.pending.values()) {
          clearTimeout(timer);
          rej(new Error(`socket closed (${code} ${reason})`));
        }
        this.pending.clear();
        if (!settled) {
          settled = true;
          reject(new Error(`socket closed before open (${code})`));
        }
        this.onClose?.(this, code, reason.toString());
      });
      ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    });
  }

  #onMessage(data, isBinary) {
    const recvAt = now();
    if (!isBinary) {
      if (data.toString() === "pong") {
        this.pongs++;
      }
      return;
    }
    const out = pb.Output.decode(data);
    if (out.type === PT.PT_MESSAGE && out.requestId === 0) {
      if (this.onPush) {
        const { message } = pb.MessageSend.decode(out.data);
        this.onPush(message, recvAt, this);
      }
      return;
    }
    const waiter = this.pending.get(out.requestId);
    if (waiter) {
      this.pending.delete(out.requestId);
      clearTimeout(waiter.timer);
      waiter.resolve({ out, recvAt });
    }
  }

  /** Sends one Input and resolves { out, recvAt } with the Output of the same request id. */
  request(type, data, timeoutMs = 30_000) {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      if (this.closed || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("socket is not open"));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`request ${requestId} (type ${type}) timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.ws.send(pb.Input.encode({ type, requestId, data: data ?? new Uint8Array(0) }).finish());
    });
  }

  /** PT_SEND_MESSAGE to a user; resolves { out, recvAt, seq } (seq 0 when out.code != 0). */
  async sendMessage(receiverId, content, clientMsgId, timeoutMs = 30_000) {
    const data = pb.SendMessageReq.encode({
      receiverType: pb.ReceiverType.RT_USER,
      receiverId,
      messageType: pb.MessageType.MT_TEXT,
      messageContent: content,
      isPersist: true,
      clientMsgId,
    }).finish();
    const reply = await this.request(PT.PT_SEND_MESSAGE, data, timeoutMs);
    reply.seq = reply.out.code === 0 ? pb.SendMessageResp.decode(reply.out.data).seq : 0;
    return reply;
  }

  /** One PT_SYNC page: resolves pb.SyncOutput (throws on code != 0). */
  async syncPage(seq, limit = 500, timeoutMs = 30_000) {
    const { out } = await this.request(PT.PT_SYNC, pb.SyncInput.encode({ seq, limit }).finish(), timeoutMs);
    if (out.code !== 0) {
      throw new Error(`sync failed: code ${out.code} ${out.message}`);
    }
    return pb.SyncOutput.decode(out.data);
  }

  async heartbeat(timeoutMs = 30_000) {
    const { out } = await this.request(PT.PT_HEARTBEAT, null, timeoutMs);
    if (out.code !== 0) {
      throw new Error(`heartbeat failed: code ${out.code} ${out.message}`);
    }
  }

  ack(seq) {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(pb.Input.encode({ type: PT.PT_MESSAGE, requestId: 0, data: pb.MessageACK.encode({ deviceAck: seq }).finish() }).finish());
    }
  }

  ping() {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send("ping");
    }
  }

  /** Closes and waits for the close (at most `timeoutMs`, then terminates). */
  async close(timeoutMs = 5_000) {
    if (!this.ws || this.closed) {
      return;
    }
    this.ws.close(1000, "bench done");
    if (!(await waitFor(() => this.closed, timeoutMs, 20))) {
      this.ws.terminate();
    }
  }
}

/** The text content every benchmark message carries (an encoded pb.Text). */
export function textContent(text) {
  return pb.Text.encode({ text }).finish();
}

// ---------------------------------------------------------------- workerd process figures

/** PIDs of every descendant of `rootPid` whose command is workerd. */
export function workerdPids(rootPid = process.pid) {
  let out;
  try {
    out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,comm="], { encoding: "utf8", timeout: 10_000 });
  } catch {
    return [];
  }
  const children = new Map();
  const comm = new Map();
  for (const line of out.split("\n")) {
    const m = line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/);
    if (m) {
      const [pid, ppid] = [Number(m[1]), Number(m[2])];
      comm.set(pid, m[3]);
      if (!children.has(ppid)) {
        children.set(ppid, []);
      }
      children.get(ppid).push(pid);
    }
  }
  const found = [];
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    if (/workerd/.test(comm.get(pid) ?? "")) {
      found.push(pid);
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Sum of RSS (bytes) of the given PIDs, read from /proc. */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
      total += m ? Number(m[1]) * 1024 : 0;
    } catch {
      // process gone
    }
  }
  return total;
}

const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by the given PIDs. */
export function cpuSeconds(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      // process gone
    }
  }
  return total;
}

/** Open file descriptors of the given PIDs (default: this process). */
export function openFds(pids = [process.pid]) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // process gone
    }
  }
  return total;
}

/** CPU seconds all processes of the machine have been busy (from /proc/stat). */
function machineBusySeconds() {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Measures CPU use of this process, of workerd, and of everything else on the machine (other
 * processes competing for the cores) between the call and the call of the returned function.
 */
export function cpuMeter(pids) {
  const t0 = now();
  const node0 = process.cpuUsage();
  const w0 = cpuSeconds(pids);
  const m0 = machineBusySeconds();
  return () => {
    const wall = (now() - t0) / 1000;
    const node = process.cpuUsage(node0);
    const nodeSeconds = (node.user + node.system) / 1e6;
    const workerdSeconds = pids.length ? cpuSeconds(pids) - w0 : NaN;
    const machineSeconds = machineBusySeconds() - m0;
    return {
      wallSeconds: wall,
      nodePercent: (nodeSeconds / wall) * 100,
      workerdPercent: (workerdSeconds / wall) * 100,
      otherPercent: pids.length ? Math.max(0, ((machineSeconds - nodeSeconds - workerdSeconds) / wall) * 100) : NaN,
    };
  };
}

/** CPU ticks (user + system, 100 per second) of every process, from /proc. */
export function processTicks() {
  const ticks = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      ticks.set(Number(name), { comm, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process is gone
    }
  }
  return ticks;
}

/**
 * The CPU other processes (not the pids in `mine`) used over `ms`, in % of one core: the total,
 * and each process that used at least 10 % as { pid, comm, percent }. A benchmark shares the
 * machine's cores with them.
 */
export async function otherBusyProcesses(mine, ms) {
  const a = processTicks();
  await sleep(ms);
  const b = processTicks();
  const busy = [];
  let percent = 0;
  for (const [pid, { comm, ticks }] of b) {
    const before = a.get(pid);
    if (!before || mine.has(pid)) {
      continue;
    }
    const used = (ticks - before.ticks) / (ms / 1000);
    percent += used;
    if (used >= 10) {
      busy.push({ pid, comm, percent: used });
    }
  }
  return { percent, busy };
}

/** The open-files limit of this shell (`ulimit -n`), NaN if unknown. */
export function ulimitN() {
  try {
    return Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8", timeout: 5_000 }).trim());
  } catch {
    return NaN;
  }
}
