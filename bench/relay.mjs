// Benchmark of the TCP relay (tcp-relay/): the same 1:1 scenario over gim TCP through the relay
// and over direct WebSockets to the Worker, side by side; then N idle TCP connections held
// through one relay process and the relay's memory per connection.
//
//   node bench/relay.mjs [--rate 800] [--seconds 20] [--users 50] [--idle 5000] [--relay inline|child]
//
// Everything runs on 127.0.0.1: the local stack (scripts/local-server.mjs) in this process with a
// fresh state dir, the relay in this process (--relay inline, default) or in a child process
// (--relay child; the idle part always uses a child, to read the relay's own RSS). Every wait has
// a deadline. Progress on stderr, results on stdout; --json adds one JSON line.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import WebSocket from "ws";
import { pb } from "../proto/gen/pb.js";
import { startLocalServer } from "../scripts/local-server.mjs";
import { distDir, loadRelay } from "../tcp-relay/build.mjs";

const USAGE = `usage: node bench/relay.mjs [options]
  --rate R          offered 1:1 messages/s (default 800)
  --seconds S       load duration per transport (default 20)
  --users N         users of the 1:1 scenario (default 50), --devices per user (default 2)
  --order LIST      transports in run order (default direct,relay; repeat for rounds, e.g. direct,relay,direct,relay)
  --relay MODE      inline (the relay in this process, default) or child (its own node process)
  --paired N        also N paired runs: both transports at once on separate users, rate/2 each (default 0)
  --drain S         seconds after the load within which a delivery must arrive, else it counts as lost (default 5)
  --late S          then wait up to S more seconds for the rest before the next run (default 120)
  --idle N          idle TCP connections for the memory part (default 5000; 0 = skip)
  --idle-devices N  devices per user for the idle part (default 5: N/5 users)
  --hold S          seconds to hold the idle connections (default 60)
  --skip-load       only the idle part
  --tmp DIR         make the state dir under DIR (default: the OS temp dir)
  --json            also print the results as one JSON line`;

const opts = parseArgs({ rate: 800, seconds: 20, users: 50, devices: 2, order: "direct,relay", relay: "inline", drain: 5, late: 120, paired: 0, idle: 5000, "idle-devices": 5, hold: 60, "skip-load": false, tmp: "", json: false });
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...args) => console.error(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const PT = pb.PackageType;

// ---------------------------------------------------------------- helpers

function parseArgs(spec) {
  const out = { ...spec };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--help") {
      console.log(USAGE);
      process.exit(0);
    }
    const [name, inline] = argv[i].replace(/^--/, "").split(/=(.*)/s, 2);
    if (!(name in spec)) {
      throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
    const kind = typeof spec[name];
    const value = inline ?? (kind === "boolean" ? "true" : argv[++i]);
    out[name] = kind === "number" ? Number(value) : kind === "boolean" ? value !== "false" : value;
    if (kind === "number" && !Number.isFinite(out[name])) {
      throw new Error(`--${name} must be a number`);
    }
  }
  return out;
}

async function until(cond, timeoutMs, stepMs = 20) {
  const deadline = now() + timeoutMs;
  while (!cond()) {
    if (now() > deadline) {
      return false;
    }
    await sleep(stepMs);
  }
  return true;
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

function summarize(values) {
  const s = Float64Array.from(values).sort();
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN);
  return { count: s.length, p50: at(50), p95: at(95), p99: at(99), max: s.length ? s[s.length - 1] : NaN };
}

function procStat(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024, cpu: (Number(f[11]) + Number(f[12])) / 100 };
  } catch {
    return { rss: 0, cpu: 0 };
  }
}

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
async function createUsers(baseUrl, users, perUser, label) {
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

// ---------------------------------------------------------------- connections

/** A device connection over direct WebSocket (credentials in the URL) or gim TCP via the relay. */
class Conn {
  constructor(device, onOutput) {
    this.device = device;
    this.onOutput = onOutput;
    this.closed = false;
  }

  static async direct(baseUrl, device, onOutput) {
    const conn = new Conn(device, onOutput);
    const url = `${baseUrl.replace(/^http/, "ws")}/ws?user_id=${device.userId}&device_id=${device.deviceId}&token=${encodeURIComponent(device.token)}`;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30_000 });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.on("message", (data, isBinary) => isBinary && conn.onOutput(pb.Output.decode(data), now(), conn));
    ws.on("close", () => (conn.closed = true));
    conn.write = (bytes) => ws.send(bytes);
    conn.close = () => ws.close();
    return conn;
  }

  static async tcp(port, device, onOutput, relayModule) {
    const conn = new Conn(device, onOutput);
    const socket = netConnect({ port, host: "127.0.0.1" });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const decoder = new relayModule.FrameDecoder("u16", 1 << 20);
    let signedIn = null;
    const ready = new Promise((resolve, reject) => (signedIn = { resolve, reject }));
    socket.on("data", (chunk) => {
      const at = now();
      for (const body of decoder.push(chunk)) {
        const out = pb.Output.decode(body);
        if (signedIn && out.type === PT.PT_SIGN_IN) {
          (out.code === 0 ? signedIn.resolve : signedIn.reject)(new Error(`sign-in: ${out.code} ${out.message}`));
          signedIn = null;
        } else {
          conn.onOutput(out, at, conn);
        }
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      conn.closed = true;
      signedIn?.reject(new Error("closed before sign-in"));
    });
    conn.socket = socket;
    conn.write = (bytes) => socket.write(relayModule.encodeFrame("u16", bytes));
    conn.close = () => socket.end();
    conn.write(pb.Input.encode({ type: PT.PT_SIGN_IN, requestId: 1, data: pb.SignInInput.encode(device).finish() }).finish());
    const timer = setTimeout(() => signedIn?.reject(new Error("sign-in timed out")), 60_000);
    await ready.finally(() => clearTimeout(timer));
    return conn;
  }
}

// ---------------------------------------------------------------- the 1:1 scenario

/** Sends `count` messages at `rate`/s (open loop) chosen by `pick()`; resolves when all are written. */
async function offer(rate, count, send) {
  const start = now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((now() - start) / 1000) * rate) + 1);
    while (sent < due) {
      send(sent++);
    }
    await sleep(2);
  }
}

/** One transport's users, connections and records within a run. */
function makeGroup(label, users, open) {
  const group = { label, users, open, records: new Map(), stats: { duplicates: 0, unknown: 0, errors: 0 }, conns: [], connOf: null, n: 0 };
  group.onOutput = (out, at, conn) => {
    if (out.type === PT.PT_SEND_MESSAGE) {
      group.stats.errors += out.code === 0 ? 0 : 1;
      return;
    }
    if (out.type !== PT.PT_MESSAGE || out.requestId !== 0) {
      return;
    }
    const { message } = pb.MessageSend.decode(out.data);
    const rec = group.records.get(message.clientMsgId);
    if (!rec) {
      group.stats.unknown++;
      return;
    }
    const key = conn.device.deviceId;
    if (rec.got.has(key)) {
      group.stats.duplicates++;
      return;
    }
    rec.got.set(key, at - rec.sentAt);
    rec.lastAt = at;
  };
  group.send = (fromUser, fromDevice, toUser) => {
    const clientMsgId = `${label}-${++group.n}`;
    const expected = [...toUser.devices, ...fromUser.devices.filter((d) => d !== fromDevice)].map((d) => d.deviceId);
    group.records.set(clientMsgId, { sentAt: now(), expected, got: new Map(), lastAt: 0 });
    const data = pb.SendMessageReq.encode({ receiverType: pb.ReceiverType.RT_USER, receiverId: toUser.userId, messageType: pb.MessageType.MT_TEXT, messageContent: pb.Text.encode({ text: clientMsgId.padEnd(32, ".") }).finish(), isPersist: true, clientMsgId }).finish();
    group.connOf.get(fromDevice.deviceId).write(pb.Input.encode({ type: PT.PT_SEND_MESSAGE, requestId: group.n, data }).finish());
  };
  group.sendRandom = () => {
    const from = users[Math.floor(Math.random() * users.length)];
    let to = users[Math.floor(Math.random() * (users.length - 1))];
    to = to === from ? users[users.length - 1] : to;
    group.send(from, from.devices[Math.floor(Math.random() * from.devices.length)], to);
  };
  group.complete = () => [...group.records.values()].every((r) => r.got.size === r.expected.length);
  return group;
}

/**
 * One run: the groups' users send at `opts.rate` in total (an equal share each, interleaved), so
 * groups run in one run share the same server conditions. Resolves one result per group.
 */
async function runLoad(groups) {
  const name = groups.map((g) => g.label).join("+");
  for (const group of groups) {
    log(`${group.label}: opening ${group.users.length * opts.devices} connections`);
    group.conns = await mapLimit(group.users.flatMap((u) => u.devices), 64, (d) => group.open(d, group.onOutput));
    group.connOf = new Map(group.conns.map((c) => [c.device.deviceId, c]));
  }
  // Warm-up, not measured: one message per ordered user pair (every inbox meets its peers once).
  const pairs = groups.flatMap((g) => g.users.flatMap((u) => g.users.filter((v) => v !== u).map((v) => [g, u, v])));
  log(`${name}: warm-up, ${pairs.length} messages at ${opts.rate / 2}/s`);
  await offer(opts.rate / 2, pairs.length, (i) => pairs[i][0].send(pairs[i][1], pairs[i][1].devices[i % opts.devices], pairs[i][2]));
  await until(() => groups.every((g) => g.complete()), 60_000, 50);
  groups.forEach((g) => {
    g.records.clear();
    g.stats = { duplicates: 0, unknown: 0, errors: 0 };
  });

  log(`${name}: load, ${opts.rate} msg/s in total for ${opts.seconds} s`);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = now();
  const cpu0 = cpuNow();
  await offer(opts.rate, Math.round(opts.rate * opts.seconds), (i) => groups[i % groups.length].sendRandom());
  const sendSeconds = (now() - t0) / 1000;
  await until(() => groups.every((g) => g.complete()), opts.drain * 1000, 50);
  const cpu = cpuNow(cpu0);
  loop.disable();
  const results = groups.map((g) => measure(g, t0, sendSeconds));
  // Before the next run: wait (up to --late s) for what is still outstanding, so every run
  // starts on an idle server; what arrives now counts as late, the rest as never delivered.
  if (results.some((r) => r.lost > 0)) {
    log(`${name}: deliveries outstanding after the ${opts.drain} s drain; waiting up to ${opts.late} s`);
    await until(() => groups.every((g) => g.complete()), opts.late * 1000, 200);
  }
  for (const [i, g] of groups.entries()) {
    const never = [...g.records.values()].reduce((n, r) => n + r.expected.length - r.got.size, 0);
    Object.assign(results[i], { late: results[i].lost - never, never, duplicates: g.stats.duplicates, errors: g.stats.errors, unknown: g.stats.unknown, loopDelayP99: loop.percentile(99) / 1e6, cpu, paired: groups.length > 1 });
    g.conns.forEach((c) => c.close());
  }
  await until(() => groups.every((g) => g.conns.every((c) => c.closed)), 10_000);
  return results;
}

/** Throughput, latency and loss of one group at the end of the drain window. */
function measure(group, t0, sendSeconds) {
  const latencies = [];
  let complete = 0;
  let lost = 0;
  let expected = 0;
  let lastAt = t0;
  for (const rec of group.records.values()) {
    expected += rec.expected.length;
    rec.got.forEach((ms) => latencies.push(ms));
    lost += rec.expected.length - rec.got.size;
    complete += rec.got.size === rec.expected.length ? 1 : 0;
    lastAt = Math.max(lastAt, rec.lastAt);
  }
  const spanSeconds = (lastAt - t0) / 1000;
  return {
    transport: group.label,
    offeredRate: opts.rate / (group.paired ? 2 : 1),
    sent: group.records.size,
    achievedRate: group.records.size / sendSeconds,
    deliveredPerSecond: complete / spanSeconds,
    deliveriesPerSecond: latencies.length / spanSeconds,
    deliveries: latencies.length,
    expected,
    lost,
    latency: summarize(latencies),
  };
}

// CPU of this process, workerd and a relay child, in % of one core.
let relayChild = null;
function workerdPids() {
  const found = [];
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop();
    let children = "";
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
      stack.push(child);
      try {
        if (readFileSync(`/proc/${child}/comm`, "utf8").includes("workerd")) {
          found.push(child);
        }
      } catch {
        // gone
      }
    }
  }
  return found;
}
/** CPU seconds the whole machine spent busy (all cores), from /proc/stat. */
function machineBusy() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
}
function cpuNow(start) {
  const sample = { at: now(), self: process.cpuUsage(), workerd: workerdPids().reduce((s, pid) => s + procStat(pid).cpu, 0), relay: relayChild ? procStat(relayChild.pid).cpu : 0, machine: machineBusy() };
  if (!start) {
    return sample;
  }
  const wall = (sample.at - start.at) / 1000;
  const self = process.cpuUsage(start.self);
  const ours = (self.user + self.system) / 1e6 + (sample.workerd - start.workerd) + (sample.relay - start.relay);
  return {
    nodePercent: ((self.user + self.system) / 1e6 / wall) * 100,
    workerdPercent: ((sample.workerd - start.workerd) / wall) * 100,
    relayChildPercent: relayChild ? ((sample.relay - start.relay) / wall) * 100 : null,
    /** Everything else on the machine (other people's processes), % of one core. */
    otherPercent: Math.max(0, ((sample.machine - start.machine - ours) / wall) * 100),
  };
}

// ---------------------------------------------------------------- relay child process

async function startRelayChild(workerUrl, extraEnv = {}) {
  const env = { ...process.env, WORKER_URL: workerUrl, RELAY_HOST: "127.0.0.1", TCP_PORT: "0", WS_PORT: "off", GRPC_PORT: "off", METRICS_PORT: "0", RATE_CONNECTIONS_PER_IP: "0", RATE_FAILED_SIGNINS_PER_IP: "0", DRAIN_SECONDS: "2", LOG_LEVEL: "info", ...extraEnv };
  const child = spawn(process.execPath, [join(distDir, "main.mjs")], { env, stdio: ["ignore", "pipe", "inherit"] });
  let buffer = "";
  const started = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("relay child did not start within 30 s")), 30_000);
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      for (let i; (i = buffer.indexOf("\n")) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          const record = JSON.parse(line);
          if (record.msg === "relay started") {
            clearTimeout(timer);
            resolve(record);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`relay child exited with ${code}`)));
  });
  child.stdout.resume();
  return {
    pid: child.pid,
    ports: started.ports,
    async stop() {
      if (child.exitCode !== null) {
        return;
      }
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) {
        child.kill("SIGKILL");
      }
    },
  };
}

// ---------------------------------------------------------------- idle connections

async function runIdle(baseUrl, relayModule) {
  const perUser = opts["idle-devices"];
  const userCount = Math.ceil(opts.idle / perUser);
  log(`idle: creating ${userCount} users x ${perUser} devices`);
  const users = await createUsers(baseUrl, userCount, perUser, "9");
  const devices = users.flatMap((u) => u.devices).slice(0, opts.idle);
  relayChild = await startRelayChild(baseUrl);
  await sleep(5_000);
  const before = procStat(relayChild.pid).rss;
  log(`idle: relay child ${relayChild.pid} RSS ${fmt(before / 1048576)} MB; opening ${devices.length} TCP connections`);
  const t0 = now();
  const conns = await mapLimit(devices, 64, (d) => Conn.tcp(relayChild.ports.tcp[0], d, () => {}, relayModule));
  const openSeconds = (now() - t0) / 1000;
  await sleep(10_000);
  const afterOpen = procStat(relayChild.pid).rss;
  const samples = [afterOpen];
  log(`idle: ${conns.length} open in ${fmt(openSeconds)} s; RSS ${fmt(afterOpen / 1048576)} MB; holding ${opts.hold} s`);
  for (let held = 0; held < opts.hold; held += 10) {
    await sleep(Math.min(10, opts.hold - held) * 1000);
    samples.push(procStat(relayChild.pid).rss);
  }
  const afterHold = procStat(relayChild.pid).rss;
  const metrics = await (await fetch(`http://127.0.0.1:${relayChild.ports.metrics}/metrics`)).text();
  const heap = Number(/^gim_relay_process_heap_used_bytes (\d+)/m.exec(metrics)?.[1] ?? 0);
  const open = conns.filter((c) => !c.closed).length;
  const result = {
    connections: conns.length,
    stillOpen: open,
    openSeconds,
    rssBeforeMB: before / 1048576,
    rssAfterOpenMB: afterOpen / 1048576,
    rssAfterHoldMB: afterHold / 1048576,
    perConnectionKB: (afterOpen - before) / conns.length / 1024,
    perConnectionAfterHoldKB: (afterHold - before) / conns.length / 1024,
    heapUsedMB: heap / 1048576,
  };
  conns.forEach((c) => c.socket.destroy());
  await relayChild.stop();
  relayChild = null;
  return result;
}

// ---------------------------------------------------------------- main

const stateDir = mkdtempSync(join(opts.tmp || tmpdir(), "gim-bench-relay-"));
process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const server = await startLocalServer({ port: 0, stateDir, quiet: true });
const baseUrl = server.url.replace("localhost", "127.0.0.1");
const relayModule = await loadRelay();
const results = { machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: totalmem() / 1024 ** 3, node: process.version }, opts, load: [], paired: [], idle: null };
try {
  if (!opts["skip-load"]) {
    let inline = null;
    if (opts.relay === "child") {
      relayChild = await startRelayChild(baseUrl);
    } else {
      inline = await relayModule.startRelay({ workerUrl: baseUrl, host: "127.0.0.1", tcp: [{ port: 0, framing: "u16" }], wsPort: null, grpcPort: null, metricsPort: null, logLevel: "warn", connectionsPerIp: 0, failedSignInsPerIp: 0 });
    }
    const relayPort = inline ? inline.ports.tcp[0] : relayChild.ports.tcp[0];
    const openFor = (transport) => (transport === "relay" ? (d, onOutput) => Conn.tcp(relayPort, d, onOutput, relayModule) : (d, onOutput) => Conn.direct(baseUrl, d, onOutput));
    for (const [round, transport] of opts.order.split(",").entries()) {
      const users = await createUsers(baseUrl, opts.users, opts.devices, String(round));
      const [result] = await runLoad([makeGroup(transport, users, openFor(transport))]);
      results.load.push(result);
      printLoad(result);
    }
    for (let round = 0; round < opts.paired; round++) {
      const groups = [];
      for (const transport of round % 2 ? ["relay", "direct"] : ["direct", "relay"]) {
        const group = makeGroup(transport, await createUsers(baseUrl, opts.users, opts.devices, `${5 + round}${groups.length}`), openFor(transport));
        group.paired = true;
        groups.push(group);
      }
      for (const result of await runLoad(groups)) {
        results.paired.push(result);
        printLoad(result);
      }
    }
    await inline?.stop();
    await relayChild?.stop();
    relayChild = null;
    printComparison(results.load, "sequential runs (median of each transport's runs)");
    printComparison(results.paired, "paired runs (both transports at once, half the rate each)");
  }
  if (opts.idle > 0) {
    results.idle = await runIdle(baseUrl, relayModule);
    printIdle(results.idle);
  }
} finally {
  await relayChild?.stop();
  await server.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
if (opts.json) {
  console.log(JSON.stringify(results));
}

function printLoad(r) {
  const paired = r.paired ? ` (paired: the other transport ran at the same time, ${opts.rate} msg/s in total)` : "";
  console.log(`--- ${r.transport}: offered ${r.offeredRate} msg/s for ${opts.seconds} s, ${opts.users} users x ${opts.devices} devices${paired}`);
  console.log(`  sent              ${r.sent} (${fmt(r.achievedRate)} msg/s achieved)`);
  console.log(`  delivered         ${fmt(r.deliveredPerSecond)} messages/s fully delivered, ${fmt(r.deliveriesPerSecond)} deliveries/s (${r.deliveries}/${r.expected})`);
  console.log(`  latency           p50 ${fmt(r.latency.p50)} ms  p95 ${fmt(r.latency.p95)} ms  p99 ${fmt(r.latency.p99)} ms  max ${fmt(r.latency.max)} ms`);
  console.log(`  lost ${r.lost} (within ${opts.drain} s of the end; ${r.late} arrived later, ${r.never} never)  duplicated ${r.duplicates}  errors ${r.errors}  unknown ${r.unknown}`);
  const relayCpu = r.cpu.relayChildPercent === null ? "" : `  relay child ${fmt(r.cpu.relayChildPercent)}%`;
  console.log(`  cpu               node ${fmt(r.cpu.nodePercent)}%  workerd ${fmt(r.cpu.workerdPercent)}%${relayCpu}  other processes ${fmt(r.cpu.otherPercent)}% (of one core); client loop delay p99 ${fmt(r.loopDelayP99)} ms`);
}

function printComparison(load, title) {
  const pick = (t) => load.filter((r) => r.transport === t);
  const [relay, direct] = [pick("relay"), pick("direct")];
  if (!relay.length || !direct.length) {
    return;
  }
  const median = (xs) => {
    const s = xs.slice().sort((a, b) => a - b);
    return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
  };
  const p50 = (rs) => median(rs.map((r) => r.latency.p50));
  const tput = (rs) => median(rs.map((r) => r.deliveredPerSecond));
  const p50Ratio = p50(relay) / p50(direct);
  const tputRatio = tput(relay) / tput(direct);
  console.log(`--- relay / direct: ${title}`);
  console.log(`  p50 latency       ${fmt(p50(relay), 2)} / ${fmt(p50(direct), 2)} ms = ${fmt(p50Ratio, 2)} (+${fmt((p50Ratio - 1) * 100)}%; target <= +30%) ${p50Ratio <= 1.3 ? "MET" : "MISSED"}`);
  console.log(`  p95 / p99         ${fmt(median(relay.map((r) => r.latency.p95)), 1)} / ${fmt(median(direct.map((r) => r.latency.p95)), 1)} ms, ${fmt(median(relay.map((r) => r.latency.p99)), 1)} / ${fmt(median(direct.map((r) => r.latency.p99)), 1)} ms`);
  console.log(`  throughput        ${fmt(tput(relay))} / ${fmt(tput(direct))} msg/s = ${fmt(tputRatio * 100)}% (target >= 80%) ${tputRatio >= 0.8 ? "MET" : "MISSED"}`);
  (results.comparison ??= {})[title.split(" ")[0]] = { p50Ratio, throughputRatio: tputRatio };
}

function printIdle(r) {
  console.log(`--- idle: ${r.connections} signed-in TCP connections through one relay process (held ${opts.hold} s)`);
  console.log(`  opened            in ${fmt(r.openSeconds)} s; still open after the hold: ${r.stillOpen}`);
  console.log(`  relay RSS         ${fmt(r.rssBeforeMB)} MB before, ${fmt(r.rssAfterOpenMB)} MB after opening, ${fmt(r.rssAfterHoldMB)} MB after the hold (V8 heap used ${fmt(r.heapUsedMB)} MB)`);
  console.log(`  per connection    ${fmt(r.perConnectionKB)} KiB after opening, ${fmt(r.perConnectionAfterHoldKB)} KiB after the hold (target < 64 KiB) ${Math.max(r.perConnectionKB, r.perConnectionAfterHoldKB) < 64 ? "MET" : "MISSED"}`);
}
