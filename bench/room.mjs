// Room benchmark: one room with --subscribers room sockets (`/room`, read diffusion through
// ChatRoom + RoomShard objects), one sender pushing at a fixed rate, and push-to-all.
//   1. room       one sender pushes PT_PUSH_ROOM on its user socket (or PushRoom over HTTP) at
//                 --rate messages/s for --seconds; every message is one delivery per subscriber.
//                 Measured at the receivers: deliveries/s, end-to-end latency (send -> receive,
//                 one process clock), fan-out time per message (send -> last subscriber has it),
//                 lost deliveries, duplicates, per-socket order of the room seqs.
//                 `--find-max` then steps the rate up and prints the highest deliveries/s held
//                 (p99 < --p99 ms, nothing lost, duplicated, out of order or failed).
//   2. push-all   the room sockets close; the same devices connect on `/ws` (user sockets) and
//                 `POST /pb.LogicInt/PushAll` is called: time until the last device has the
//                 message, and how many got it.
//
//   node bench/room.mjs [--subscribers 5000] [--rate 5] [--seconds 20] [--find-max]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import { startLocalServer } from "../scripts/local-server.mjs";
import { pb } from "../proto/gen/pb.js";
import { call, cpuMeter, createUsers, DeviceSocket, fmt, log, mapLimit, now, openFds, otherBusyProcesses, parseArgs, rssBytes, sleep, summarize, ulimitN, waitFor, workerdPids } from "./lib.mjs";

const USAGE = `usage: node bench/room.mjs [options]
  --subscribers N      room sockets (default 5000)
  --devices N          devices per user (default 10: 500 users x 10 devices for 5000)
  --rate R             room messages/s offered by the one sender (default 5; each is N deliveries)
  --seconds S          sending time of the fixed-rate run (default 20)
  --send-via socket|http  PT_PUSH_ROOM on the sender's /ws socket (default) or POST PushRoom
  --bytes N            text length of each message, at least the header (default 64)
  --p99 MS             latency target of a held run (default 500)
  --drain S            after the last send, wait up to S s for outstanding deliveries (default 10)
  --late S             then, while deliveries still come, up to S s more to tell late from lost (default 60)
  --find-max           after the fixed-rate run, step the rate up (--steps, --step-seconds) and print
                       the highest deliveries/s held
  --steps LIST         rates (messages/s) for --find-max (default 2,3,4,5,6,8,10,12,16,20,24,32,48,64)
  --step-seconds S     seconds per step (default 10)
  --push-all N         user sockets (/ws) for push-to-all (default: --subscribers; 0 skips the phase)
  --push-all-repeats N PushAll calls, one after another (default 3)
  --push-all-gap S     pause before each PushAll call (default 2; the first waits this long after
                       the last socket opened)
  --keep-room-sockets  keep the room sockets open during push-all (default: close them first)
  --concurrency N      RegisterDevice/SignIn calls in flight (default 16)
  --open-concurrency N WebSocket upgrades in flight (default 32)
  --max-load L         before starting, wait while the 1-min load average is above L (default 2.5)
  --load-wait M        wait at most M minutes for that (default 20; 0 = do not wait); the same budget
                       (at most 5 min per phase) then holds each measured phase while other
                       processes use more than half a core
  --shard-size N       ROOM_SHARD_SIZE for the local server (default: the server's, 10000 = one shard)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir)
  --timeline           per second of sending: messages sent, fan-out time p50/max (send -> last socket)
  --deflate            let the room sockets negotiate permessage-deflate (browsers do; default off)
  --verbose            server log (workerd) on stderr
  --max-minutes N      hard limit of the whole run (default 75)
  --json               also print the results as one JSON line`;

const opts = parseArgs(
  {
    subscribers: 5000,
    devices: 10,
    rate: 5,
    seconds: 20,
    "send-via": "socket",
    bytes: 64,
    p99: 500,
    drain: 10,
    late: 60,
    "find-max": false,
    steps: "2,3,4,5,6,8,10,12,16,20,24,32,48,64",
    "step-seconds": 10,
    "push-all": -1,
    "push-all-repeats": 3,
    "push-all-gap": 2,
    "keep-room-sockets": false,
    concurrency: 16,
    "open-concurrency": 32,
    "max-load": 2.5,
    "load-wait": 20,
    "shard-size": 0,
    tmp: "",
    timeline: false,
    deflate: false,
    verbose: false,
    "max-minutes": 75,
    json: false,
  },
  process.argv.slice(2),
  USAGE,
);

const N = Math.floor(opts.subscribers);
const DEVICES = Math.floor(opts.devices);
const PUSH_ALL_N = opts["push-all"] < 0 ? N : Math.floor(opts["push-all"]);
if (!(N >= 1 && N <= 15_000)) {
  throw new Error("--subscribers must be 1..15000");
}
if (!(DEVICES >= 1 && DEVICES <= 50)) {
  throw new Error("--devices must be 1..50");
}
if (!(PUSH_ALL_N >= 0 && PUSH_ALL_N <= 15_000)) {
  throw new Error("--push-all must be 0..15000");
}
if (!(opts.rate > 0 && opts.rate <= 1000 && opts.seconds > 0 && opts.seconds <= 600 && opts["step-seconds"] > 0 && opts["step-seconds"] <= 600)) {
  throw new Error("need 0 < --rate <= 1000 and 0 < --seconds, --step-seconds <= 600");
}
if (!["socket", "http"].includes(opts["send-via"])) {
  throw new Error("--send-via must be socket or http");
}
if (!(opts["push-all-repeats"] >= 1 && opts["push-all-repeats"] <= 20)) {
  throw new Error("--push-all-repeats must be 1..20");
}
if (!(opts["push-all-gap"] >= 0 && opts["push-all-gap"] <= 300)) {
  throw new Error("--push-all-gap must be 0..300");
}
const STEPS = opts.steps.split(",").map(Number).filter((n) => n > 0 && n <= 1000).slice(0, 30);
const PT = pb.PackageType;
const DELIVERIES_FLOOR = 20_000;
const runTag = Math.random().toString(36).slice(2, 8);
const roomId = 1000 + Math.floor(Math.random() * 1e6);

// ---------------------------------------------------------------- state

let baseUrl = "";
let server = null;
let stateDir = "";
let workerdPidList = [];
/** Room subscribers: index -> { ws, closed, closeInfo } */
const subs = [];
/** Highest room seq seen per subscriber (order check over the whole run). */
let lastSeq = new Float64Array(0);
let orderViolations = 0;
let seqGaps = 0;
let unknownFrames = 0;
let unexpectedCloses = 0;
const closeCodes = new Map();
let closing = false;
/** All room phases, by id (the id travels in the message text). */
const phases = [];
let current = null;
const results = { machine: {}, setup: {}, phases: [], findMax: null, pushAll: [] };

// ---------------------------------------------------------------- helpers

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim().slice(0, 80);
  } catch {
    return "?";
  }
}

/** Processes other than this one and its workerd that used >= 10 % of a core over `ms`. */
async function othersNow(ms = 3_000) {
  const { percent, busy } = await otherBusyProcesses(new Set([process.pid, ...workerdPidList]), ms);
  return { percent, busy: busy.map((o) => `${cmdline(o.pid)} (${o.percent.toFixed(0)}%)`) };
}

/** CPU ticks per thread of the given processes (workerd runs every object's JS on one thread). */
function threadTicks(pids) {
  const ticks = new Map();
  for (const pid of pids) {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks.set(`${pid}/${tid}`, Number(fields[11]) + Number(fields[12]));
      } catch {
        // thread gone
      }
    }
  }
  return ticks;
}

/** Like cpuMeter, plus the busiest workerd thread (% of one core). */
function cpuMeterThreads(pids) {
  const meter = cpuMeter(pids);
  const t0 = now();
  const before = threadTicks(pids);
  return () => {
    const r = meter();
    const wall = (now() - t0) / 1000;
    let busiest = 0;
    for (const [tid, ticks] of threadTicks(pids)) {
      busiest = Math.max(busiest, ((ticks - (before.get(tid) ?? 0)) / 100 / wall) * 100);
    }
    r.workerdBusiestThreadPercent = busiest;
    return r;
  };
}

/** Waits (bounded) while the 1-min load average is above --max-load. */
async function waitForQuietMachine(label) {
  const deadline = now() + opts["load-wait"] * 60_000;
  let load = loadavg()[0];
  while (load > opts["max-load"] && now() < deadline) {
    log(`${label}: load average ${fmt(load, 2)} > ${opts["max-load"]}; waiting (at most ${fmt((deadline - now()) / 60_000)} min more)`);
    await sleep(Math.min(30_000, Math.max(1_000, deadline - now())));
    load = loadavg()[0];
  }
  if (load > opts["max-load"]) {
    log(`${label}: load average still ${fmt(load, 2)}; going on anyway`);
  }
  return load;
}

/** Until this time (the --load-wait budget, shared by all phases), phases wait for a quiet machine. */
let quietBudgetEnd = 0;

/**
 * Waits while other processes (not this one, not its workerd) use more than half a core, at
 * most 5 min per phase and within the --load-wait budget; resolves the share last measured.
 */
async function waitForQuietOthers(label) {
  const deadline = Math.min(quietBudgetEnd, now() + 5 * 60_000);
  for (;;) {
    const o = await othersNow(5_000);
    if (o.percent <= 50 || now() >= deadline) {
      log(`${label}: other processes use ${fmt(o.percent, 0)}% of a core${o.busy.length ? `: ${o.busy.join(", ")}` : ""}${o.percent > 50 ? " (going on anyway)" : ""}`);
      return o.percent;
    }
    log(`${label}: other processes use ${fmt(o.percent, 0)}% of a core (${o.busy.join(", ")}); waiting (at most ${fmt((deadline - now()) / 60_000)} min more)`);
    await sleep(10_000);
  }
}

/** The text of message `k` of phase `phaseId`: run tag, phase, index, send time, padding. */
function messageText(phaseId, k, sentAt) {
  const head = `${runTag}:${phaseId}:${k}:${sentAt.toFixed(3)}:`;
  return head.padEnd(Math.max(opts.bytes, head.length), "x");
}

// ---------------------------------------------------------------- room sockets

/**
 * Frames are identical on every socket (the shard encodes a batch once), so the last decoded
 * frame is kept and a byte-equal frame reuses it: the client spends its CPU on receiving, not
 * on decoding the same bytes 5,000 times. Every frame is still compared in full.
 */
const frameCache = [];
const FRAME_CACHE = 8;

function decodeRoomFrame(data) {
  for (const entry of frameCache) {
    if (entry.bytes.length === data.length && entry.bytes.equals(data)) {
      return entry.parsed;
    }
  }
  let parsed = null;
  try {
    const out = pb.Output.decode(data);
    if (out.type === PT.PT_MESSAGE) {
      const { message } = pb.MessageSend.decode(out.data);
      const text = pb.Text.decode(message.messageContent).text;
      const [tag, phaseId, k, sentAt] = text.split(":");
      parsed = { seq: Number(message.seq), tag, phaseId: Number(phaseId), k: Number(k), sentAt: Number(sentAt), receiverType: message.receiverType, receiverId: Number(message.receiverId) };
    } else {
      parsed = { other: out.type, code: out.code };
    }
  } catch (err) {
    parsed = { error: String(err) };
  }
  frameCache.unshift({ bytes: Buffer.from(data), parsed });
  if (frameCache.length > FRAME_CACHE) {
    frameCache.pop();
  }
  return parsed;
}

function onRoomFrame(idx, data, isBinary) {
  const recvAt = now();
  if (!isBinary) {
    return; // "pong"
  }
  const f = decodeRoomFrame(data);
  if (f.error || f.other !== undefined || f.tag !== runTag || f.receiverId !== roomId) {
    unknownFrames++;
    return;
  }
  // Order over the whole run: room seqs strictly increasing on every socket.
  const prev = lastSeq[idx];
  if (f.seq <= prev) {
    orderViolations++;
  } else {
    if (prev > 0 && f.seq !== prev + 1) {
      seqGaps++;
    }
    lastSeq[idx] = f.seq;
  }
  const p = phases[f.phaseId];
  if (!p || !(f.k >= 0 && f.k < p.cap)) {
    unknownFrames++;
    return;
  }
  if (f.seq <= prev) {
    p.orderViolations++;
  }
  const slot = idx * p.cap + f.k;
  if (p.recv[slot]) {
    p.duplicates++;
    return;
  }
  p.recv[slot] = 1;
  if (p.seqOf[f.k] === 0) {
    p.seqOf[f.k] = f.seq;
  } else if (p.seqOf[f.k] !== f.seq) {
    p.seqMismatch++;
  }
  p.deliveries++;
  if (p !== current) {
    p.late++;
  }
  const latency = recvAt - f.sentAt;
  p.latency[p.latencyCount++] = latency;
  p.count[f.k]++;
  if (recvAt > p.lastRecv[f.k]) {
    p.lastRecv[f.k] = recvAt;
  }
  if (recvAt > p.lastDeliveryAt) {
    p.lastDeliveryAt = recvAt;
  }
  const b = Math.floor((recvAt - p.startAt) / 100);
  p.buckets[b] = (p.buckets[b] ?? 0) + 1;
}

function openRoomSocket(idx, device, timeoutMs = 60_000) {
  const url = `${baseUrl.replace(/^http/, "ws")}/room?room_id=${roomId}&seq=0&user_id=${device.userId}&device_id=${device.deviceId}&token=${encodeURIComponent(device.token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: opts.deflate, handshakeTimeout: timeoutMs });
    const sub = { ws, closed: false, closeInfo: null };
    let settled = false;
    ws.on("open", () => {
      settled = true;
      subs[idx] = sub;
      resolve(sub);
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        if (!settled) {
          settled = true;
          reject(new Error(`room upgrade refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
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
      sub.closed = true;
      sub.closeInfo = { code, reason: reason.toString() };
      if (!closing) {
        unexpectedCloses++;
        const key = `${code} ${reason.toString()}`.trim();
        closeCodes.set(key, (closeCodes.get(key) ?? 0) + 1);
      }
      if (!settled) {
        settled = true;
        reject(new Error(`room socket closed before open (${code})`));
      }
    });
    ws.on("message", (data, isBinary) => onRoomFrame(idx, data, isBinary));
  });
}

async function closeRoomSockets() {
  closing = true;
  for (const sub of subs) {
    if (sub && !sub.closed) {
      sub.ws.close(1000, "bench done");
    }
  }
  const ok = await waitFor(() => subs.every((s) => !s || s.closed), 30_000, 50);
  if (!ok) {
    for (const sub of subs) {
      if (sub && !sub.closed) {
        sub.ws.terminate();
      }
    }
  }
  closing = false;
  return ok;
}

// ---------------------------------------------------------------- room phase

let sender = null; // { device, sock }
const http = (device) => ({ user_id: String(device.userId), device_id: String(device.deviceId), token: device.token });

async function roomInfo(device) {
  const info = await call(baseUrl, "/pb.LogicExt/GetRoomInfo", { roomId: String(roomId) }, http(device), 30_000);
  return { subscribers: Number(info.subscriberCount ?? 0), seq: Number(info.seq ?? 0) };
}

function newPhase(name, rate, seconds) {
  const cap = Math.max(1, Math.round(rate * seconds));
  const p = {
    id: phases.length,
    name,
    rate,
    seconds,
    cap,
    startAt: now(),
    firstSendAt: 0,
    lastSendAt: 0,
    lastDeliveryAt: 0,
    sent: 0,
    replies: 0,
    errors: 0,
    errorSamples: new Map(),
    noReply: 0,
    failed: new Uint8Array(cap),
    sentAt: new Float64Array(cap),
    lastRecv: new Float64Array(cap),
    count: new Uint32Array(cap),
    seqOf: new Float64Array(cap),
    recv: new Uint8Array(N * cap),
    latency: new Float32Array(N * cap),
    latencyCount: 0,
    replyLatency: [],
    deliveries: 0,
    duplicates: 0,
    orderViolations: 0,
    seqMismatch: 0,
    late: 0,
    buckets: [],
  };
  phases.push(p);
  current = p;
  return p;
}

function sendOne(p, k) {
  const sentAt = now();
  const content = pb.Text.encode({ text: messageText(p.id, k, sentAt) }).finish();
  p.sentAt[k] = sentAt;
  p.sent++;
  if (!p.firstSendAt) {
    p.firstSendAt = sentAt;
  }
  p.lastSendAt = sentAt;
  const fail = (why) => {
    p.failed[k] = 1;
    p.errors++;
    p.errorSamples.set(why, (p.errorSamples.get(why) ?? 0) + 1);
  };
  let reply;
  if (opts["send-via"] === "socket") {
    const data = pb.PushRoomReq.encode({ roomId, messageType: pb.MessageType.MT_TEXT, messageContent: content, isPersist: true }).finish();
    reply = sender.sock.request(PT.PT_PUSH_ROOM, data, 60_000).then(({ out, recvAt }) => {
      p.replies++;
      p.replyLatency.push(recvAt - sentAt);
      if (out.code !== 0) {
        fail(`code ${out.code} ${out.message}`);
      }
    });
  } else {
    reply = call(
      baseUrl,
      "/pb.LogicExt/PushRoom",
      { roomId: String(roomId), messageType: "MT_TEXT", messageContent: Buffer.from(content).toString("base64"), isPersist: true },
      http(sender.device),
      60_000,
    ).then(() => {
      p.replies++;
      p.replyLatency.push(now() - sentAt);
    });
  }
  reply.catch((err) => {
    p.noReply++;
    p.failed[k] = 1;
    p.errorSamples.set(String(err.message).slice(0, 120), (p.errorSamples.get(String(err.message).slice(0, 120)) ?? 0) + 1);
  });
}

/** Open loop: message k leaves at k / rate s, whatever the replies do. */
async function sendAtRate(p) {
  const t0 = now();
  const endAt = t0 + p.seconds * 1000 + 2_000;
  while (p.sent < p.cap && now() < endAt) {
    const due = Math.min(p.cap, Math.floor(((now() - t0) / 1000) * p.rate) + 1);
    while (p.sent < due) {
      sendOne(p, p.sent);
    }
    const nextAt = t0 + (p.sent / p.rate) * 1000;
    await sleep(Math.max(1, Math.min(20, nextAt - now())));
  }
}

function expectedDeliveries(p) {
  let ok = 0;
  for (let k = 0; k < p.sent; k++) {
    ok += p.failed[k] ? 0 : 1;
  }
  return ok * N;
}

async function runRoomPhase(name, rate, seconds) {
  const p = newPhase(name, rate, seconds);
  const meter = cpuMeterThreads(workerdPidList);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const loadBefore = loadavg()[0];
  log(`${name}: ${rate} msg/s x ${N} subscribers = ${rate * N} deliveries/s offered, ${seconds} s (load ${fmt(loadBefore, 2)})`);
  await sendAtRate(p);
  const sendDone = now();
  // Drain: every expected delivery and every reply, up to --drain s.
  const complete = () => p.deliveries >= expectedDeliveries(p) && p.replies + p.noReply >= p.sent;
  await waitFor(complete, opts.drain * 1000, 20);
  p.drainMs = now() - sendDone;
  p.missingAfterDrain = Math.max(0, expectedDeliveries(p) - p.deliveries);
  const cpu = meter();
  loopDelay.disable();
  // Late: while deliveries still come, up to --late s more.
  if (!complete()) {
    log(`  ${p.missingAfterDrain} deliveries missing after ${opts.drain} s; waiting while they still come (up to ${opts.late} s)`);
    const lateDeadline = now() + opts.late * 1000;
    let seen = p.deliveries;
    let lastProgress = now();
    while (!complete() && now() < lateDeadline && now() - lastProgress < 5_000) {
      await sleep(200);
      if (p.deliveries !== seen) {
        seen = p.deliveries;
        lastProgress = now();
      }
    }
  }
  current = null;
  const expected = expectedDeliveries(p);
  const lat = summarize(p.latency.subarray(0, p.latencyCount));
  const fanout = [];
  for (let k = 0; k < p.sent; k++) {
    if (!p.failed[k] && p.count[k] === N) {
      fanout.push(p.lastRecv[k] - p.sentAt[k]);
    }
  }
  const span = (p.lastDeliveryAt - p.firstSendAt) / 1000;
  const from = Math.floor((p.firstSendAt - p.startAt) / 100);
  const to = Math.floor((p.lastSendAt - p.startAt) / 100);
  let inWindow = 0;
  for (let b = from; b < to; b++) {
    inWindow += p.buckets[b] ?? 0;
  }
  // Sockets that missed something, and how much.
  let socketsMissing = 0;
  let worstSocketMissing = 0;
  for (let i = 0; i < N; i++) {
    let miss = 0;
    for (let k = 0; k < p.sent; k++) {
      if (!p.failed[k] && !p.recv[i * p.cap + k]) {
        miss++;
      }
    }
    if (miss) {
      socketsMissing++;
      worstSocketMissing = Math.max(worstSocketMissing, miss);
    }
  }
  let messagesIncomplete = 0;
  for (let k = 0; k < p.sent; k++) {
    if (!p.failed[k] && p.count[k] < N) {
      messagesIncomplete++;
    }
  }
  const r = {
    name,
    offeredRate: rate,
    offeredDeliveriesPerSecond: rate * N,
    seconds,
    sent: p.sent,
    achievedRate: p.sent / Math.max(1e-9, (p.lastSendAt - p.firstSendAt) / 1000 + 1 / rate),
    expected,
    delivered: p.deliveries,
    lost: Math.max(0, expected - p.deliveries),
    lateArrivals: p.late,
    missingAfterDrain: p.missingAfterDrain,
    socketsMissing,
    worstSocketMissing,
    messagesIncomplete,
    duplicates: p.duplicates,
    orderViolations: p.orderViolations,
    seqMismatch: p.seqMismatch,
    errors: p.errors,
    errorSamples: [...p.errorSamples].slice(0, 5).map(([k, v]) => `${v}x ${k}`),
    noReply: p.noReply,
    deliveriesPerSecond: span > 0 ? p.deliveries / span : NaN,
    windowDeliveriesPerSecond: to > from ? inWindow / ((to - from) / 10) : NaN,
    latency: lat,
    fanout: summarize(fanout),
    reply: summarize(p.replyLatency),
    drainMs: p.drainMs,
    cpu,
    loop: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    workerdRssMB: rssBytes(workerdPidList) / 1e6,
    loadBefore,
    loadAfter: loadavg()[0],
  };
  r.held =
    r.lost === 0 &&
    r.duplicates === 0 &&
    r.orderViolations === 0 &&
    r.seqMismatch === 0 &&
    r.errors === 0 &&
    r.noReply === 0 &&
    r.latency.p99 < opts.p99 &&
    r.achievedRate >= 0.97 * rate;
  if (opts.timeline) {
    r.timeline = [];
    for (let sec = 0; sec * p.rate < p.sent; sec++) {
      const f = [];
      for (let k = Math.ceil(sec * p.rate); k < Math.min(p.sent, Math.ceil((sec + 1) * p.rate)); k++) {
        f.push(p.count[k] === N ? p.lastRecv[k] - p.sentAt[k] : Infinity);
      }
      const s = summarize(f);
      r.timeline.push({ second: sec, messages: f.length, fanoutP50: s.p50, fanoutMax: s.max });
    }
  }
  results.phases.push(r);
  printPhase(r);
  // Free the big arrays of a finished phase (late frames of it are then counted as unknown).
  p.recv = new Uint8Array(0);
  p.latency = new Float32Array(0);
  p.cap = 0;
  return r;
}

function printPhase(r) {
  const lines = [
    `--- ${r.name}: offered ${r.offeredRate} msg/s x ${N} subscribers = ${r.offeredDeliveriesPerSecond} deliveries/s for ${r.seconds} s`,
    `  sent                 ${r.sent} messages (${fmt(r.achievedRate)} msg/s achieved) via ${opts["send-via"]}`,
    `  deliveries/s         ${fmt(r.deliveriesPerSecond, 0)} (first send -> last delivery); ${fmt(r.windowDeliveriesPerSecond, 0)} while sending`,
    `  delivered            ${r.delivered}/${r.expected}  lost ${r.lost}  (missing after ${opts.drain} s drain: ${r.missingAfterDrain}, arrived late: ${r.lateArrivals}; sockets missing any: ${r.socketsMissing}, worst socket missing ${r.worstSocketMissing}, messages not on every socket: ${r.messagesIncomplete})`,
    `  latency (delivery)   p50 ${fmt(r.latency.p50)} ms  p95 ${fmt(r.latency.p95)} ms  p99 ${fmt(r.latency.p99)} ms  max ${fmt(r.latency.max)} ms  (${r.latency.count} deliveries)`,
    `  fan-out (last sub)   p50 ${fmt(r.fanout.p50)} ms  p99 ${fmt(r.fanout.p99)} ms  max ${fmt(r.fanout.max)} ms  (send -> the ${N}th socket has it)`,
    `  send -> reply        p50 ${fmt(r.reply.p50)} ms  p99 ${fmt(r.reply.p99)} ms  max ${fmt(r.reply.max)} ms`,
    `  duplicates ${r.duplicates}  order violations ${r.orderViolations}  seq mismatches ${r.seqMismatch}  errors ${r.errors}  no reply ${r.noReply}${r.errorSamples.length ? `  (${r.errorSamples.join("; ")})` : ""}`,
    `  cpu                  node (client + miniflare) ${fmt(r.cpu.nodePercent, 0)}%  workerd ${fmt(r.cpu.workerdPercent, 0)}% (busiest thread ${fmt(r.cpu.workerdBusiestThreadPercent, 0)}%)  other processes ${fmt(r.cpu.otherPercent, 0)}% (of one core); workerd RSS ${fmt(r.workerdRssMB, 0)} MB`,
    `  client event loop    delay p99 ${fmt(r.loop.p99)} ms  max ${fmt(r.loop.max)} ms; drain ${fmt(r.drainMs, 0)} ms; load average ${fmt(r.loadBefore, 2)} -> ${fmt(r.loadAfter, 2)}`,
    `  held                 ${r.held ? "yes" : "NO"} (p99 < ${opts.p99} ms, zero loss, no duplicates, in order, no errors)${r.cpu.otherPercent > 50 ? `  [DISTURBED: other processes took ${fmt(r.cpu.otherPercent, 0)}% of a core meanwhile]` : ""}`,
  ];
  if (r.timeline) {
    lines.push(`  timeline (second of sending: fan-out p50/max ms)`);
    for (let i = 0; i < r.timeline.length; i += 5) {
      lines.push(`    ${r.timeline.slice(i, i + 5).map((t) => `${String(t.second).padStart(3)}s ${fmt(t.fanoutP50, 0)}/${fmt(t.fanoutMax, 0)}`).join("   ")}`);
    }
  }
  console.log(lines.join("\n"));
}

async function waitServerQuiet(label) {
  // Frames still arriving (a late backlog) would spoil the next phase: wait until none for 2 s.
  let seen = totalDeliveries();
  let quietSince = now();
  const deadline = now() + 60_000;
  while (now() - quietSince < 2_000 && now() < deadline) {
    await sleep(200);
    const t = totalDeliveries();
    if (t !== seen) {
      seen = t;
      quietSince = now();
    }
  }
  if (now() >= deadline) {
    log(`${label}: deliveries still arriving after 60 s`);
  }
}

function totalDeliveries() {
  return phases.reduce((a, p) => a + p.deliveries + p.duplicates, 0) + unknownFrames;
}

// ---------------------------------------------------------------- push-all

async function runPushAll(devices) {
  const n = devices.length;
  const socks = [];
  const seen = [];
  /** Per repeat: first receipt time per device. */
  let currentRound = null;
  let pushAllUnknown = 0;
  let pushAllCloses = 0;
  const o0 = now();
  await mapLimit(devices, opts["open-concurrency"], async (device, i) => {
    const sock = new DeviceSocket(baseUrl, device, {
      onPush: (message, recvAt) => {
        let text = "";
        try {
          text = pb.Text.decode(message.messageContent).text;
        } catch {
          // not ours
        }
        const r = currentRound;
        if (!r || !text.startsWith(`${runTag}:all:${r.index}:`)) {
          pushAllUnknown++;
          return;
        }
        if (r.at[i]) {
          r.duplicates++;
          return;
        }
        r.at[i] = recvAt;
        r.got++;
        r.lastAt = Math.max(r.lastAt, recvAt);
      },
      onClose: () => {
        if (!closing) {
          pushAllCloses++;
        }
      },
    });
    await sock.open(60_000);
    socks[i] = sock;
    if ((i + 1) % 1000 === 0) {
      log(`  ${i + 1}/${n} user sockets open`);
    }
  });
  const openMs = now() - o0;
  log(`push-all: ${n} user sockets open in ${fmt(openMs / 1000)} s (${fmt(n / (openMs / 1000), 0)}/s); client fds ${openFds()}`);
  results.setup.userSocketsOpenMs = openMs;
  for (let index = 0; index < opts["push-all-repeats"]; index++) {
    await sleep(opts["push-all-gap"] * 1000);
    await waitForQuietOthers(`push-all #${index + 1}`);
    const round = { index, at: new Float64Array(n), got: 0, duplicates: 0, lastAt: 0 };
    currentRound = round;
    const text = `${runTag}:all:${index}:`.padEnd(opts.bytes, "x");
    const meter = cpuMeterThreads(workerdPidList);
    const loadBefore = loadavg()[0];
    const t0 = now();
    let httpMs = NaN;
    let httpError = "";
    const req = call(
      baseUrl,
      "/pb.LogicInt/PushAll",
      { messageType: "MT_TEXT", messageContent: Buffer.from(pb.Text.encode({ text }).finish()).toString("base64") },
      { authorization: "Bearer local-server-secret" },
      120_000,
    ).then(
      () => (httpMs = now() - t0),
      (err) => {
        httpMs = now() - t0;
        httpError = String(err.message).slice(0, 300);
      },
    );
    await waitFor(() => round.got >= n, 120_000, 5);
    await req;
    await sleep(1_000); // duplicates after the last first receipt
    const cpu = meter();
    const lat = [];
    for (let i = 0; i < n; i++) {
      if (round.at[i]) {
        lat.push(round.at[i] - t0);
      }
    }
    const r = {
      index,
      devices: n,
      users: new Set(devices.map((d) => d.userId)).size,
      got: round.got,
      missing: n - round.got,
      duplicates: round.duplicates,
      lastMs: round.got ? round.lastAt - t0 : NaN,
      perDevice: summarize(lat),
      httpMs,
      httpError,
      cpu,
      loadBefore,
    };
    results.pushAll.push(r);
    console.log(
      `--- push-all #${index + 1}: ${r.got}/${n} devices (${r.users} users) got it${r.missing ? `, ${r.missing} MISSING` : ""}; last device after ${fmt(r.lastMs, 0)} ms` +
        ` (per device p50 ${fmt(r.perDevice.p50, 0)} ms p99 ${fmt(r.perDevice.p99, 0)} ms); PushAll answered after ${fmt(httpMs, 0)} ms${httpError ? ` with ERROR ${httpError}` : ""}; duplicates ${r.duplicates}` +
        `; cpu workerd ${fmt(cpu.workerdPercent, 0)}% (busiest thread ${fmt(cpu.workerdBusiestThreadPercent, 0)}%) node ${fmt(cpu.nodePercent, 0)}% other ${fmt(cpu.otherPercent, 0)}%; load ${fmt(loadBefore, 2)}`,
    );
  }
  currentRound = null;
  results.pushAllExtra = { unknownPushes: pushAllUnknown, unexpectedCloses: pushAllCloses };
  if (pushAllUnknown || pushAllCloses) {
    console.log(`  push-all: ${pushAllUnknown} unexpected pushes, ${pushAllCloses} user sockets closed by the server`);
  }
  closing = true;
  await mapLimit(socks.filter(Boolean), 256, (s) => s.close(5_000));
  closing = false;
}

// ---------------------------------------------------------------- main

async function cleanup() {
  closing = true;
  for (const sub of subs) {
    if (sub && !sub.closed) {
      sub.ws.terminate();
    }
  }
  if (sender?.sock) {
    sender.sock.ws?.terminate();
  }
  if (server) {
    const s = server;
    server = null;
    try {
      await Promise.race([s.stop(), sleep(30_000)]);
    } catch (err) {
      log(`server stop failed: ${err.message}`);
    }
  }
  if (stateDir) {
    rmSync(stateDir, { recursive: true, force: true });
    stateDir = "";
  }
}

async function main() {
  const fdLimit = ulimitN();
  const clientFds = N + (opts["keep-room-sockets"] ? PUSH_ALL_N : 0) + 200;
  if (Number.isFinite(fdLimit) && clientFds > fdLimit) {
    throw new Error(`${clientFds} client file descriptors needed, ulimit -n is ${fdLimit}`);
  }
  if (opts["load-wait"] > 0) {
    await waitForQuietMachine("before start");
  }
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  stateDir = mkdtempSync(join(opts.tmp || tmpdir(), "gim-bench-room-"));
  log(`starting the local server (state in ${stateDir})`);
  const vars = opts["shard-size"] > 0 ? { ROOM_SHARD_SIZE: String(Math.floor(opts["shard-size"])) } : {};
  server = await startLocalServer({ port: 0, stateDir, quiet: !opts.verbose, vars });
  baseUrl = server.url.replace("localhost", "127.0.0.1");
  if (new URL(baseUrl).hostname !== "127.0.0.1") {
    throw new Error(`server is not on 127.0.0.1: ${baseUrl}`);
  }
  workerdPidList = workerdPids();
  log(`server at ${baseUrl}; workerd pids ${workerdPidList.join(",") || "(none found)"}; room ${roomId}`);
  const others = await othersNow();
  results.machine = {
    nproc: availableParallelism(),
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    cpu: cpus()[0]?.model ?? "?",
    loadAtStart: loadavg()[0],
    otherPercentAtStart: others.percent,
    othersAtStart: others.busy,
    ulimitN: fdLimit,
  };
  console.log(
    `machine: ${results.machine.nproc} cores (${results.machine.cpu}), ${fmt(results.machine.memGiB)} GiB, node ${results.machine.node}, ulimit -n ${fdLimit}; load ${fmt(results.machine.loadAtStart, 2)}; other processes ${fmt(others.percent, 0)}% of a core${others.busy.length ? `: ${others.busy.join(", ")}` : ""}`,
  );

  // ---- users and devices: ceil(max(N, PUSH_ALL_N) / DEVICES) users x DEVICES, plus the sender
  const needed = Math.max(N, PUSH_ALL_N);
  const userCount = Math.ceil(needed / DEVICES);
  const u0 = now();
  const users = await createUsers(baseUrl, userCount, DEVICES, opts.concurrency, (n) => {
    if (n % 50 === 0) {
      log(`  ${n}/${userCount} users signed in (${n * DEVICES} devices)`);
    }
  });
  const [senderUser] = await createUsers(baseUrl, 1, 1, 1);
  results.setup.usersMs = now() - u0;
  const devices = users.flatMap((u) => u.devices).slice(0, needed);
  log(`users: ${userCount} x ${DEVICES} devices (+1 sender) in ${fmt(results.setup.usersMs / 1000)} s`);
  sender = { device: senderUser.devices[0], sock: null };

  // ---- room sockets
  lastSeq = new Float64Array(N);
  const o0 = now();
  const openTimes = [];
  await mapLimit(devices.slice(0, N), opts["open-concurrency"], async (device, i) => {
    const t = now();
    await openRoomSocket(i, device);
    openTimes.push(now() - t);
    if ((i + 1) % 1000 === 0) {
      log(`  ${i + 1}/${N} room sockets open`);
    }
  });
  results.setup.roomSocketsOpenMs = now() - o0;
  results.setup.roomUpgrade = summarize(openTimes);
  const negotiated = subs.filter((sub) => sub?.ws.extensions).length;
  results.setup.deflateSockets = negotiated;
  log(
    `room sockets: ${N} open in ${fmt(results.setup.roomSocketsOpenMs / 1000)} s (${fmt(N / (results.setup.roomSocketsOpenMs / 1000), 0)}/s; upgrade p50 ${fmt(results.setup.roomUpgrade.p50)} ms p99 ${fmt(results.setup.roomUpgrade.p99)} ms); client fds ${openFds()}; workerd RSS ${fmt(rssBytes(workerdPidList) / 1e6, 0)} MB; permessage-deflate on ${negotiated}`,
  );
  // GetRoomInfo must count every subscriber before sending.
  let info = { subscribers: 0, seq: 0 };
  const infoDeadline = now() + 30_000;
  while (now() < infoDeadline) {
    info = await roomInfo(sender.device);
    if (info.subscribers === N) {
      break;
    }
    await sleep(500);
  }
  results.setup.roomInfo = info;
  console.log(`room ${roomId}: GetRoomInfo subscriberCount ${info.subscribers} (expected ${N}), seq ${info.seq}`);
  if (info.subscribers !== N) {
    throw new Error(`GetRoomInfo counts ${info.subscribers} subscribers, expected ${N}`);
  }

  // ---- sender
  if (opts["send-via"] === "socket") {
    sender.sock = new DeviceSocket(baseUrl, sender.device, {
      onClose: (_s, code, reason) => {
        if (!closing) {
          log(`sender socket closed: ${code} ${reason}`);
        }
      },
    });
    await sender.sock.open(30_000);
  }

  // ---- warm-up (not a measurement): a few messages at 2/s
  await runRoomPhase("warm-up", 2, 3);
  await waitServerQuiet("warm-up");

  // ---- before each measured phase: wait for a quiet machine (other processes, not ours)
  quietBudgetEnd = now() + opts["load-wait"] * 60_000;
  results.machine.otherPercentBeforeLoad = await waitForQuietOthers("load");

  // ---- fixed-rate run
  await runRoomPhase("load", opts.rate, opts.seconds);
  await waitServerQuiet("load");

  // ---- find-max
  if (opts["find-max"]) {
    const steps = [];
    let best = null;
    for (const rate of STEPS) {
      await waitForQuietOthers(`step ${rate}`);
      const r = await runRoomPhase(`step ${rate} msg/s`, rate, opts["step-seconds"]);
      steps.push(r);
      await waitServerQuiet(r.name);
      if (!r.held) {
        break;
      }
      best = r;
    }
    if (!best && steps.length) {
      for (let rate = STEPS[0] / 2; rate >= 0.5 && !best; rate /= 2) {
        await waitForQuietOthers(`step ${rate}`);
        const r = await runRoomPhase(`step ${rate} msg/s`, rate, opts["step-seconds"]);
        steps.push(r);
        await waitServerQuiet(r.name);
        if (r.held) {
          best = r;
        }
      }
    }
    results.findMax = {
      best: best ? { rate: best.offeredRate, deliveriesPerSecond: best.deliveriesPerSecond, p99: best.latency.p99 } : null,
      steps: steps.map((s) => ({ rate: s.offeredRate, deliveriesPerSecond: s.deliveriesPerSecond, p50: s.latency.p50, p99: s.latency.p99, max: s.latency.max, lost: s.lost, held: s.held, otherPercent: s.cpu.otherPercent })),
    };
    console.log(`--- find-max (held: p99 < ${opts.p99} ms, zero loss, no duplicates, in order, no errors; each step ${opts["step-seconds"]} s)`);
    console.log("  msg/s  deliveries/s offered  measured   p50 ms   p99 ms   max ms   lost  held  others %");
    for (const s of steps) {
      console.log(
        `  ${String(s.offeredRate).padStart(5)}  ${String(s.offeredDeliveriesPerSecond).padStart(20)}  ${fmt(s.deliveriesPerSecond, 0).padStart(8)}  ${fmt(s.latency.p50).padStart(7)}  ${fmt(s.latency.p99).padStart(7)}  ${fmt(s.latency.max).padStart(7)}  ${String(s.lost).padStart(5)}  ${s.held ? "yes " : "NO  "}  ${fmt(s.cpu.otherPercent, 0).padStart(8)}`,
      );
    }
    console.log(
      best
        ? `  highest held: ${best.offeredRate} msg/s = ${fmt(best.deliveriesPerSecond, 0)} deliveries/s to ${N} sockets (p99 ${fmt(best.latency.p99)} ms)`
        : "  no step held",
    );
  }

  results.order = { orderViolations, seqGaps, unknownFrames, unexpectedCloses, closeCodes: Object.fromEntries(closeCodes) };
  console.log(
    `room sockets over the whole run: order violations ${orderViolations}, seq gaps ${seqGaps}, unknown frames ${unknownFrames}, closed by the server ${unexpectedCloses}${closeCodes.size ? ` (${[...closeCodes].map(([k, v]) => `${v}x ${k}`).join(", ")})` : ""}`,
  );
  const load = results.phases.find((r) => r.name === "load");
  console.log(
    `target: >= ${DELIVERIES_FLOOR} deliveries/s with p99 < 500 ms and zero loss -> fixed-rate run (offered ${load.offeredDeliveriesPerSecond}/s): ${fmt(load.deliveriesPerSecond, 0)} deliveries/s, p99 ${fmt(load.latency.p99)} ms, lost ${load.lost}: ${load.deliveriesPerSecond >= DELIVERIES_FLOOR && load.latency.p99 < 500 && load.lost === 0 ? "MET" : "NOT MET"}`,
  );

  // ---- push-all
  if (PUSH_ALL_N > 0) {
    if (sender.sock) {
      closing = true;
      await sender.sock.close(5_000);
      closing = false;
    }
    if (!opts["keep-room-sockets"]) {
      const c0 = now();
      const ok = await closeRoomSockets();
      let left = -1;
      const deadline = now() + 30_000;
      while (now() < deadline) {
        left = (await roomInfo(senderUser.devices[0])).subscribers;
        if (left === 0) {
          break;
        }
        await sleep(500);
      }
      log(`room sockets closed in ${fmt((now() - c0) / 1000)} s${ok ? "" : " (some terminated)"}; GetRoomInfo subscriberCount now ${left}`);
      results.setup.roomSubscribersAfterClose = left;
    }
    await runPushAll(devices.slice(0, PUSH_ALL_N));
  }

  if (opts.json) {
    console.log(JSON.stringify(results));
  }
}

const hardLimit = setTimeout(async () => {
  log(`hard limit of ${opts["max-minutes"]} min reached; stopping`);
  await cleanup().catch(() => {});
  process.exit(2);
}, opts["max-minutes"] * 60_000);
hardLimit.unref();

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  await cleanup();
  clearTimeout(hardLimit);
}
process.exit(exitCode);
