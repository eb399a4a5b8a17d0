// Group chat benchmark: M users (one device each) on WebSockets in one group, plus one extra
// member that stays offline.
//   1. latency     --messages group messages one at a time from varying senders; per message the
//                  time until the LAST other member device has it (fan-out time), per delivery
//                  latency, lost deliveries.
//   2. throughput  group sends at a fixed offered rate (open loop, several senders): deliveries/s
//                  counted at the receivers, fan-out time per message, loss, duplicates, seq gaps
//                  per device; `--find-max` steps the rate up.
//   3. offline     the extra member's inbox gets --offline-messages group messages while it has no
//                  socket; then it connects and pages PT_SYNC from seq 0: time to have them all,
//                  checked for missing, repeated and out-of-order messages.
//
//   node bench/group.mjs [--members 1000] [--messages 20] [--rate 4] [--seconds 20] [--find-max]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startLocalServer } from "../scripts/local-server.mjs";
import { pb } from "../proto/gen/pb.js";
import {
  call,
  cpuMeter,
  createUsers,
  DeviceSocket,
  fmt,
  log,
  mapLimit,
  now,
  otherBusyProcesses,
  parseArgs,
  rssBytes,
  sleep,
  summarize,
  textContent,
  waitFor,
  workerdPids,
} from "./lib.mjs";

const USAGE = `usage: node bench/group.mjs [options]
  --members M          online members, one device each (default 1000); the group has M + 1 members
                       (the extra one stays offline for the sync phase)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir)
  --concurrency N      RegisterDevice/SignIn calls in flight (default 16)
  --open-concurrency N WebSocket upgrades in flight (default 32)
  --bytes N            text length of each message (default 32)
  latency phase:
  --messages N         group messages sent one at a time (default 20, at least 20)
  --pause MS           pause between two of them (default 250)
  --timeout S          per message: give up waiting for every member after S s (default 10)
  throughput phase:
  --rate R             offered group messages/s (default 4; each is M - 1 deliveries)
  --seconds S          sending time (default 20)
  --senders N          distinct members sending, round robin (default 8)
  --drain S            after the last send, wait up to S s for outstanding deliveries (default 10)
  --late S             then up to S s more (while deliveries come, see --stall) to tell late from lost (default 120)
  --settle S           before each phase, wait up to S s for deliveries still owed by earlier ones (default 300)
  --stall S            every such wait also ends once S s pass without any delivery (default 90: longer
                       than the server's longest retry backoff, 60 s, so a retry by alarm is seen)
  --find-max           after the fixed-rate run, step the rate up (--steps, --step-seconds) and print
                       the highest rate held (zero loss/duplicates/errors/gaps, backlog not growing)
  --steps LIST         rates for --find-max (default 1,2,3,4,6,8,12,16,24,32,48,64)
  --step-seconds S     seconds per step (default 10)
  offline sync phase:
  --offline-messages N group messages sent while the extra member is offline (default 1000; 0 skips)
  --offline-window N   sends in flight meanwhile (default 16)
  --offline-drain S    wait up to S s for their fan-out to the online members (default 900)
  --limit N            PT_SYNC page size asked for (default 500)
  --skip LIST          phases to skip: latency,throughput,offline
  --max-minutes N      hard limit of the whole run (default 90)
  --json               also print the results as one JSON line`;

const opts = parseArgs(
  {
    members: 1000,
    tmp: "",
    concurrency: 16,
    "open-concurrency": 32,
    bytes: 32,
    messages: 20,
    pause: 250,
    timeout: 10,
    rate: 4,
    seconds: 20,
    senders: 8,
    drain: 10,
    late: 120,
    settle: 300,
    stall: 90,
    "find-max": false,
    steps: "1,2,3,4,6,8,12,16,24,32,48,64",
    "step-seconds": 10,
    "offline-messages": 1000,
    "offline-window": 16,
    "offline-drain": 900,
    limit: 500,
    skip: "",
    "max-minutes": 90,
    json: false,
  },
  process.argv.slice(2),
  USAGE,
);
if (!(opts.members >= 2 && opts.members <= 1999)) {
  throw new Error("--members must be 2..1999 (the group cap is 2000 with the extra member)");
}
if (!(opts.messages >= 20 && opts.messages <= 10_000)) {
  throw new Error("--messages must be 20..10000 (the p99 target is over at least 20 messages)");
}
if (!(opts.rate > 0 && opts.rate <= 1000 && opts.seconds > 0 && opts.seconds <= 3600 && opts["step-seconds"] > 0 && opts["step-seconds"] <= 3600)) {
  throw new Error("need 0 < --rate <= 1000 and 0 < --seconds, --step-seconds <= 3600");
}
if (!(opts["offline-messages"] >= 0 && opts["offline-messages"] <= 100_000)) {
  throw new Error("--offline-messages must be 0..100000");
}
const skip = new Set(opts.skip.split(",").map((s) => s.trim()).filter(Boolean));
const STEPS = opts.steps.split(",").map(Number).filter((n) => n > 0 && n <= 1000).slice(0, 30);

const PT = pb.PackageType;
const MT_COMMAND = pb.MessageType.MT_COMMAND;
const FANOUT_TARGET_MS = 2000;
const DELIVERIES_FLOOR = 2000;
const M = opts.members;
const EXPECTED = M - 1;

// ---------------------------------------------------------------- state

/** Online member devices: { index, userId, deviceId, token, sock, pushes: seq[], own: Set<seq>, ... } */
const members = [];
/** clientMsgId -> message record (all phases). */
const byCid = new Map();
/** Every record in send order. */
const records = [];
let current = null;
let noticeCount = 0;
let unknownPushes = 0;
let unexpectedCloses = 0;
let closing = false;
let groupId = 0;
const runTag = Math.random().toString(36).slice(2, 8);
let msgCounter = 0;
const results = { machine: {}, setup: {}, phases: [] };

function newPhase(name, extra = {}) {
  const p = {
    name,
    startAt: now(),
    firstSendAt: 0,
    lastSendAt: 0,
    lastDeliveryAt: 0,
    sent: 0,
    skipped: 0,
    errors: 0,
    errorSamples: new Map(),
    noReply: 0,
    deliveries: 0,
    duplicates: 0,
    ownPush: 0,
    late: 0,
    latency: [],
    replyLatency: [],
    /** Deliveries per 100 ms since startAt. */
    buckets: [],
    records: [],
    ...extra,
  };
  current = p;
  return p;
}

function onPush(message, recvAt, sock) {
  const dev = sock.bench;
  dev.pushes.push(message.seq);
  if (message.messageType === MT_COMMAND) {
    if (!dev.noticeAt) {
      dev.noticeAt = recvAt;
      noticeCount++;
    }
    return;
  }
  const rec = byCid.get(message.clientMsgId);
  if (!rec) {
    unknownPushes++;
    return;
  }
  const p = rec.phase;
  if (rec.recv[dev.index]) {
    p.duplicates++;
    return;
  }
  rec.recv[dev.index] = 1;
  if (dev.index === rec.senderIdx) {
    p.ownPush++;
    return;
  }
  rec.count++;
  if (p !== current) {
    p.late++;
  }
  p.deliveries++;
  p.latency.push(recvAt - rec.sentAt);
  const b = Math.floor((recvAt - p.startAt) / 100);
  p.buckets[b] = (p.buckets[b] ?? 0) + 1;
  if (recvAt > p.lastDeliveryAt) {
    p.lastDeliveryAt = recvAt;
  }
  if (rec.count === rec.expected) {
    rec.doneAt = recvAt;
    rec.onDone?.();
  }
}

function onClose(sock, code, reason) {
  if (!closing && !sock.bench?.offline) {
    unexpectedCloses++;
    log(`socket of user ${sock.device.userId} closed unexpectedly: ${code} ${reason}`);
  }
}

/** Sends one group message from member `senderIdx`; the record is created and registered. */
function sendGroup(p, senderIdx, replyTimeoutMs = 60_000) {
  const sender = members[senderIdx];
  const cid = `g-${runTag}-${++msgCounter}`;
  const rec = { cid, n: msgCounter, phase: p, senderIdx, sentAt: 0, replyAt: 0, seq: 0, code: -1, expected: EXPECTED, count: 0, doneAt: 0, onDone: null, recv: new Uint8Array(M) };
  byCid.set(cid, rec);
  records.push(rec);
  p.records.push(rec);
  const data = pb.SendMessageReq.encode({
    receiverType: pb.ReceiverType.RT_GROUP,
    receiverId: groupId,
    messageType: pb.MessageType.MT_TEXT,
    messageContent: textContent(`${cid} ${"x".repeat(Math.max(0, opts.bytes - cid.length - 1))}`),
    isPersist: true,
    clientMsgId: cid,
  }).finish();
  rec.sentAt = now();
  if (!p.firstSendAt) {
    p.firstSendAt = rec.sentAt;
  }
  p.lastSendAt = rec.sentAt;
  p.sent++;
  rec.reply = sender.sock.request(PT.PT_SEND_MESSAGE, data, replyTimeoutMs).then(
    ({ out, recvAt }) => {
      rec.replyAt = recvAt;
      rec.code = out.code;
      if (out.code === 0) {
        rec.seq = pb.SendMessageResp.decode(out.data).seq;
        sender.own.add(rec.seq);
        p.replyLatency.push(recvAt - rec.sentAt);
      } else {
        p.errors++;
        const key = `${out.code} ${out.message}`;
        p.errorSamples.set(key, (p.errorSamples.get(key) ?? 0) + 1);
        rec.expected = 0;
        sender.answeredErrors++;
        rec.onDone?.();
      }
    },
    (err) => {
      rec.code = -2;
      p.noReply++;
      sender.unanswered++;
      p.errorSamples.set(String(err.message).slice(0, 120), (p.errorSamples.get(String(err.message).slice(0, 120)) ?? 0) + 1);
      rec.onDone?.();
    },
  );
  return rec;
}

/** Messages answered with an error are not expected anywhere; unanswered ones (no reply) still are. */
const counted = (r) => r.code === 0 || r.code === -1 || r.code === -2;
const expectedOf = (p) => p.records.reduce((n, r) => n + (counted(r) ? r.expected : 0), 0);
const receivedOf = (p) => p.records.reduce((n, r) => n + (counted(r) ? r.count : 0), 0);
const repliesPending = (p) => p.records.some((r) => r.code === -1);

/**
 * Checks the seqs pushed to every online device since the last check: consecutive pushes must
 * increase by exactly 1, except over the seqs of the device's own sends (answered, not pushed).
 */
function seqCheck(p) {
  let gaps = 0;
  let missing = 0;
  let backwards = 0;
  let devicesWithGaps = 0;
  let explained = 0;
  const samples = [];
  for (const dev of members) {
    let prev = dev.checkedPrev;
    let devGaps = 0;
    let devMissing = 0;
    const unknownOwn = dev.unanswered + dev.answeredErrors - dev.usedUnknown;
    for (let k = dev.checkedIdx; k < dev.pushes.length; k++) {
      const s = dev.pushes[k];
      if (s <= prev) {
        backwards++;
        continue;
      }
      if (s !== prev + 1) {
        let miss = 0;
        for (let x = prev + 1; x < s && x - prev < 1_000_000; x++) {
          if (!dev.own.has(x)) {
            miss++;
          }
        }
        if (miss > 0) {
          if (devMissing + miss <= unknownOwn) {
            // Within the count of this device's own sends whose seq it never learned.
            explained += miss;
            devMissing += miss;
          } else {
            gaps++;
            devGaps++;
            missing += miss;
            if (samples.length < 5) {
              samples.push(`user ${dev.userId}: ${prev} -> ${s}`);
            }
          }
        }
      }
      prev = s;
    }
    dev.checkedIdx = dev.pushes.length;
    dev.checkedPrev = prev;
    dev.usedUnknown += devMissing;
    if (devGaps > 0) {
      devicesWithGaps++;
    }
  }
  p.seq = { gaps, missing, backwards, devicesWithGaps, samples, explained };
}

/** Waits for deliveries and replies of `p`; then, while some still come, up to `late` s more. */
async function drain(p, drainS, lateS) {
  const t0 = now();
  await waitFor(() => receivedOf(p) >= expectedOf(p) && !repliesPending(p), drainS * 1000, 20);
  p.drainMs = now() - t0;
  p.lostAfterDrain = expectedOf(p) - receivedOf(p);
  if (p.lostAfterDrain > 0 && lateS > 0) {
    log(`${p.name}: ${p.lostAfterDrain} deliveries missing after ${drainS} s; waiting up to ${lateS} s more while they come`);
    const deadline = now() + lateS * 1000;
    let last = receivedOf(p);
    let lastChange = now();
    while (now() < deadline && receivedOf(p) < expectedOf(p) && now() - lastChange < opts.stall * 1000) {
      await sleep(250);
      const r = receivedOf(p);
      if (r !== last) {
        last = r;
        lastChange = now();
      }
    }
  }
}

/** Before a phase: waits (bounded) until every earlier message reached every member device. */
async function settle(label) {
  const owed = () => records.reduce((n, r) => n + (counted(r) ? r.expected - r.count : 0), 0) + records.filter((r) => r.code === -1).length;
  const before = owed();
  current = null; // what arrives now counts as late for its phase
  if (before === 0) {
    return;
  }
  const t0 = now();
  log(`before ${label}: ${before} deliveries/replies of earlier phases still owed; waiting up to ${opts.settle} s`);
  let last = before;
  let lastChange = now();
  while (owed() > 0 && now() - t0 < opts.settle * 1000 && now() - lastChange < opts.stall * 1000) {
    await sleep(250);
    if (owed() !== last) {
      last = owed();
      lastChange = now();
    }
  }
  const settled = { label, owedBefore: before, owedAfter: owed(), waitedMs: now() - t0 };
  (results.settles ??= []).push(settled);
  log(`before ${label}: waited ${fmt(settled.waitedMs / 1000)} s, ${settled.owedAfter} still owed`);
}

async function finishPhase(p, meter, loopDelay) {
  seqCheck(p);
  const ok = p.records.filter((r) => r.code === 0 || r.code === -2);
  p.lost = expectedOf(p) - receivedOf(p);
  p.incompleteMessages = ok.filter((r) => r.count < r.expected).length;
  p.fanout = summarize(ok.filter((r) => r.doneAt).map((r) => r.doneAt - r.sentAt));
  p.latencyStats = summarize(p.latency);
  p.replyStats = summarize(p.replyLatency);
  p.cpu = meter();
  p.loop = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  loopDelay.disable();
  const span = (p.lastDeliveryAt - p.firstSendAt) / 1000;
  p.deliveriesPerSecond = span > 0 ? p.deliveries / span : NaN;
  p.sendSeconds = (p.lastSendAt - p.firstSendAt) / 1000;
  // Deliveries received while sending (first send -> last send), per second.
  const from = Math.floor((p.firstSendAt - p.startAt) / 100);
  const to = Math.floor((p.lastSendAt - p.startAt) / 100);
  let inWindow = 0;
  for (let b = from; b < to; b++) {
    inWindow += p.buckets[b] ?? 0;
  }
  p.windowDeliveriesPerSecond = to > from ? inWindow / ((to - from) / 10) : NaN;
  p.lateFinal = p.late;
  const workerd = workerdPidsCache;
  p.workerdRssMB = rssBytes(workerd) / 1e6;
  p.load = loadavg()[0];
  p.others = await othersNow();
}

/** Other processes using >= 10% of a core over one second (this benchmark shares 2 cores with them). */
async function othersNow() {
  const { busy } = await otherBusyProcesses(new Set([process.pid, ...workerdPidsCache]), 1_000);
  return busy.map((o) => `${o.comm}(${o.pid}) ${o.percent.toFixed(0)}%`);
}

/** The commit of the working tree and how many files differ from it (read-only git calls). */
function codeVersion() {
  const root = new URL("..", import.meta.url).pathname;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", timeout: 10_000 }).trim();
    const changed = execFileSync("git", ["--no-optional-locks", "status", "--porcelain"], { cwd: root, encoding: "utf8", timeout: 10_000 }).split("\n").filter(Boolean).length;
    return `git ${head}, ${changed} changed or untracked paths`;
  } catch {
    return "git: unknown";
  }
}

function phaseLines(p) {
  const f = p.fanout;
  const l = p.latencyStats;
  const r = p.replyStats;
  const lines = [
    `  sent                 ${p.sent} group messages${p.rate ? ` (${fmt(p.sent / Math.max(p.sendSeconds, 1e-9))} msg/s achieved, offered ${p.rate})` : ""}; errors ${p.errors}, no reply ${p.noReply}, skipped ${p.skipped}`,
    `  deliveries           ${p.deliveries}/${expectedOf(p)} (${EXPECTED} per message)`,
    `  fan-out (last dev.)  p50 ${fmt(f.p50)} ms  p95 ${fmt(f.p95)} ms  p99 ${fmt(f.p99)} ms  max ${fmt(f.max)} ms  (${f.count} complete, ${p.incompleteMessages} incomplete)`,
    `  latency per delivery p50 ${fmt(l.p50)} ms  p95 ${fmt(l.p95)} ms  p99 ${fmt(l.p99)} ms  max ${fmt(l.max)} ms`,
    `  send -> reply        p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  max ${fmt(r.max)} ms`,
    `  deliveries/s         ${fmt(p.deliveriesPerSecond, 0)} (first send -> last delivery)  ${fmt(p.windowDeliveriesPerSecond, 0)} (while sending)`,
    `  lost ${p.lost}  duplicated ${p.duplicates}  late ${p.late}  own-device pushes ${p.ownPush}  drain ${fmt(p.drainMs / 1000)} s`,
    `  seq gaps             ${p.seq.gaps} gaps (${p.seq.missing} seqs missing) on ${p.seq.devicesWithGaps} devices, ${p.seq.backwards} pushes not increasing${p.seq.explained ? ` (${p.seq.explained} more skipped seqs = the sender's own unanswered sends)` : ""}${p.seq.samples.length ? `; e.g. ${p.seq.samples.join(", ")}` : ""}`,
    `  cpu                  node ${fmt(p.cpu.nodePercent, 0)}%  workerd ${fmt(p.cpu.workerdPercent, 0)}% (of one core), workerd RSS ${fmt(p.workerdRssMB, 0)} MB; client event loop delay p99 ${fmt(p.loop.p99)} ms max ${fmt(p.loop.max)} ms`,
    `  machine              load average (1 min) ${fmt(p.load, 2)} at the end; other busy processes: ${p.others.length ? p.others.join(", ") : "none"}`,
  ];
  const perSlot = [];
  const slot = p.name === "offline burst" ? 100 : 10; // buckets of 100 ms: 10 s or 1 s slots
  for (let b = 0; b < p.buckets.length; b++) {
    const k = Math.floor(b / slot);
    perSlot[k] = (perSlot[k] ?? 0) + (p.buckets[b] ?? 0);
  }
  for (let k = 0; k < perSlot.length; k++) {
    perSlot[k] ??= 0;
  }
  p.timeline = perSlot;
  // Longest run of 100-ms buckets without a delivery between the first and the last one.
  let longest = 0;
  let run = 0;
  let started = false;
  for (let b = 0; b < p.buckets.length; b++) {
    if (p.buckets[b]) {
      started = true;
      longest = Math.max(longest, run);
      run = 0;
    } else if (started) {
      run++;
    }
  }
  p.longestPauseS = longest / 10;
  lines.push(`  longest pause        ${fmt(p.longestPauseS)} s between two deliveries of this phase`);
  if (perSlot.length) {
    lines.push(`  ${`deliveries per ${slot === 10 ? "s" : "10 s"}`.padEnd(21)}${perSlot.slice(0, 150).join(" ")}${perSlot.length > 150 ? " ..." : ""} (from the phase start)`);
  }
  if (p.backlog) {
    lines.push(`  backlog              slope ${fmt(p.backlog.slope, 0)} deliveries/s over the second half (offered ${fmt(p.backlog.offered, 0)}/s); at the last send ${p.backlog.atEnd}, max ${p.backlog.max}`);
  }
  if (p.errorSamples.size) {
    lines.push(`  error samples        ${[...p.errorSamples].slice(0, 5).map(([k, v]) => `${v}x ${k}`).join("; ")}`);
  }
  return lines;
}

function phaseSummary(p) {
  return {
    name: p.name,
    rate: p.rate ?? null,
    sent: p.sent,
    errors: p.errors,
    noReply: p.noReply,
    skipped: p.skipped,
    deliveries: p.deliveries,
    expected: expectedOf(p),
    lost: p.lost,
    duplicated: p.duplicates,
    late: p.late,
    fanout: p.fanout,
    latency: p.latencyStats,
    reply: p.replyStats,
    deliveriesPerSecond: p.deliveriesPerSecond,
    windowDeliveriesPerSecond: p.windowDeliveriesPerSecond,
    drainMs: p.drainMs,
    seq: { gaps: p.seq.gaps, missing: p.seq.missing, backwards: p.seq.backwards, devicesWithGaps: p.seq.devicesWithGaps, explainedByUnanswered: p.seq.explained },
    backlog: p.backlog ?? null,
    held: p.held ?? null,
    timeouts: p.timeouts ?? 0,
    timeline: p.timeline,
    longestPauseS: p.longestPauseS,
    cpu: p.cpu,
    loop: p.loop,
    workerdRssMB: p.workerdRssMB,
    load: p.load,
    others: p.others,
  };
}

let workerdPidsCache = [];

function phaseTools() {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  return { meter: cpuMeter(workerdPidsCache), loopDelay };
}

// ---------------------------------------------------------------- phases

async function latencyPhase() {
  log(`latency: ${opts.messages} group messages one at a time, pause ${opts.pause} ms`);
  const { meter, loopDelay } = phaseTools();
  const p = newPhase("latency");
  const stride = Math.max(1, Math.floor(M / opts.messages));
  for (let i = 0; i < opts.messages; i++) {
    const senderIdx = (i * stride + 1) % M;
    const rec = sendGroup(p, senderIdx);
    const done = new Promise((resolve) => {
      rec.onDone = resolve;
    });
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve("timeout"), opts.timeout * 1000);
    });
    const outcome = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      p.timeouts = (p.timeouts ?? 0) + 1;
    }
    await rec.reply;
    log(
      `  #${i + 1} from user ${members[senderIdx].userId}: ${outcome === "timeout" ? `TIMEOUT ${rec.count}/${rec.expected}` : rec.expected === 0 ? `error ${rec.code}` : `all ${rec.count} in ${fmt(rec.doneAt - rec.sentAt)} ms`}, reply ${fmt(rec.replyAt - rec.sentAt)} ms`,
    );
    await sleep(opts.pause);
  }
  await drain(p, 2, opts.late);
  await finishPhase(p, meter, loopDelay);
  console.log(`\n--- latency: ${opts.messages} group messages one at a time to ${M} online members (${EXPECTED} deliveries each)`);
  console.log(`  timeouts             ${p.timeouts ?? 0} messages not on every device within ${opts.timeout} s (the next one was sent anyway; they still count when they complete)`);
  phaseLines(p).forEach((l) => console.log(l));
  results.phases.push(phaseSummary(p));
  return p;
}

function senderSet() {
  const n = Math.min(opts.senders, M);
  return Array.from({ length: n }, (_, i) => Math.floor((i * M) / n + M / (2 * n)) % M);
}

/** Open loop: every 5 ms, sends what is due for `rate` msg/s; never waits for replies. */
async function loadPhase(name, rate, seconds) {
  log(`${name}: ${rate} group msg/s for ${seconds} s (${fmt(rate * EXPECTED, 0)} deliveries/s offered)`);
  const { meter, loopDelay } = phaseTools();
  const p = newPhase(name, { rate });
  const senders = senderSet();
  const total = Math.round(rate * seconds);
  const maxOutstanding = Math.max(1000, rate * 120);
  const samples = [];
  const t0 = now();
  let nextSample = t0;
  let nextLog = t0 + 5000;
  let sent = 0;
  while (sent < total && now() - t0 < seconds * 1000 + 5000) {
    const t = now();
    const due = Math.min(total, Math.floor(((t - t0) / 1000) * rate) + 1);
    while (sent < due) {
      const outstanding = p.records.filter((r) => r.code === -1).length;
      if (outstanding > maxOutstanding) {
        p.skipped++;
      } else {
        sendGroup(p, senders[sent % senders.length]);
      }
      sent++;
    }
    if (t >= nextSample) {
      samples.push([(t - t0) / 1000, expectedOf(p) - receivedOf(p)]);
      nextSample += 500;
    }
    if (t >= nextLog) {
      log(`  ${name}: ${p.sent} sent, ${p.deliveries} delivered, backlog ${expectedOf(p) - receivedOf(p)} deliveries`);
      nextLog += 5000;
    }
    await sleep(5);
  }
  samples.push([(now() - t0) / 1000, expectedOf(p) - receivedOf(p)]);
  // Backlog (deliveries owed) over the second half of the sending: least-squares slope.
  const half = samples.filter(([t]) => t >= seconds / 2);
  let slope = NaN;
  if (half.length >= 3) {
    const mx = half.reduce((s, [t]) => s + t, 0) / half.length;
    const my = half.reduce((s, [, y]) => s + y, 0) / half.length;
    const sxy = half.reduce((s, [t, y]) => s + (t - mx) * (y - my), 0);
    const sxx = half.reduce((s, [t]) => s + (t - mx) ** 2, 0);
    slope = sxx > 0 ? sxy / sxx : NaN;
  }
  p.backlog = { slope, offered: rate * EXPECTED, atEnd: samples.at(-1)[1], max: Math.max(...samples.map(([, y]) => y)) };
  // Not growing: the backlog's trend over the second half of the sending is at most 5 % of the
  // offered deliveries/s, or at most one message's deliveries over that half (at low rates the
  // backlog is a saw tooth of whole messages, which makes the slope noisy).
  p.backlog.limit = Math.max(0.05 * rate * EXPECTED, EXPECTED / (seconds / 2));
  p.backlog.notGrowing = Number.isFinite(slope) && slope <= p.backlog.limit;
  await drain(p, opts.drain, opts.late);
  await finishPhase(p, meter, loopDelay);
  p.held =
    p.lost === 0 &&
    p.duplicates === 0 &&
    p.errors === 0 &&
    p.noReply === 0 &&
    p.skipped === 0 &&
    p.seq.gaps === 0 &&
    p.seq.backwards === 0 &&
    p.sent / Math.max(p.sendSeconds, 1e-9) >= 0.95 * rate * (total > 1 ? (total - 1) / total : 1) &&
    p.backlog.notGrowing &&
    p.lostAfterDrain === 0;
  console.log(`\n--- ${name}: offered ${rate} group msg/s (${fmt(rate * EXPECTED, 0)} deliveries/s) for ${seconds} s, ${senders.length} senders`);
  phaseLines(p).forEach((l) => console.log(l));
  console.log(
    `  => ${p.held ? "HELD" : "NOT HELD"} (zero loss/duplicates/errors/gaps, all delivered within ${opts.drain} s of the last send, backlog not growing: slope <= ${fmt(p.backlog.limit, 0)}/s, i.e. 5% of offered or one message per half run)`,
  );
  results.phases.push(phaseSummary(p));
  return p;
}

async function findMax() {
  const steps = [];
  let best = null;
  for (const rate of STEPS) {
    await settle(`find-max ${rate}/s`);
    const p = await loadPhase(`find-max ${rate}/s`, rate, opts["step-seconds"]);
    steps.push(p);
    if (p.held) {
      best = p;
    } else {
      break;
    }
    await sleep(2000);
  }
  console.log(`\nhighest rate held: ${best ? `${best.rate} group msg/s = ${fmt(best.deliveriesPerSecond, 0)} deliveries/s` : "none"} (steps of ${opts["step-seconds"]} s)`);
  console.log("rate  deliv/s offered  deliv/s got  fan-out p50  p99      lost  dup  err  gaps  slope/s  held");
  for (const p of steps) {
    console.log(
      `${String(p.rate).padEnd(5)} ${fmt(p.rate * EXPECTED, 0).padEnd(15)} ${fmt(p.deliveriesPerSecond, 0).padEnd(12)} ${fmt(p.fanout.p50, 0).padEnd(12)} ${fmt(p.fanout.p99, 0).padEnd(8)} ${String(p.lost).padEnd(5)} ${String(p.duplicates).padEnd(4)} ${String(p.errors + p.noReply).padEnd(4)} ${String(p.seq.gaps).padEnd(5)} ${fmt(p.backlog.slope, 0).padEnd(8)} ${p.held ? "yes" : "no"}`,
    );
  }
  results.findMax = { best: best ? { rate: best.rate, deliveriesPerSecond: best.deliveriesPerSecond } : null };
}

async function offlinePhase(extra) {
  const N = opts["offline-messages"];
  log(`offline: ${N} group messages while user ${extra.userId} has no socket (${opts["offline-window"]} sends in flight)`);
  const { meter, loopDelay } = phaseTools();
  const p = newPhase("offline burst");
  const senders = senderSet();
  let next = 0;
  const t0 = now();
  let nextLog = t0 + 5000;
  await Promise.all(
    Array.from({ length: Math.min(opts["offline-window"], N) }, async () => {
      while (next < N && now() - t0 < opts["offline-drain"] * 1000) {
        const i = next++;
        const rec = sendGroup(p, senders[i % senders.length]);
        await rec.reply;
        if (now() >= nextLog) {
          log(`  offline burst: ${p.sent} sent, ${p.deliveries} delivered to online members`);
          nextLog = now() + 5000;
        }
      }
    }),
  );
  p.sendDoneMs = now() - t0;
  log(`  offline burst: all ${p.sent} sent in ${fmt(p.sendDoneMs / 1000)} s (${p.errors} errors, ${p.noReply} no reply); waiting for the fan-out to the online members`);
  const deadline = t0 + opts["offline-drain"] * 1000;
  let lastCount = -1;
  let lastChange = now();
  while (now() < deadline && (receivedOf(p) < expectedOf(p) || repliesPending(p)) && now() - lastChange < opts.stall * 1000) {
    await sleep(1000);
    const r = receivedOf(p);
    if (r !== lastCount) {
      lastCount = r;
      lastChange = now();
    }
    if (now() >= nextLog) {
      log(`  offline burst: ${r}/${expectedOf(p)} delivered to online members`);
      nextLog = now() + 5000;
    }
  }
  p.drainMs = now() - t0 - p.sendDoneMs;
  p.lostAfterDrain = expectedOf(p) - receivedOf(p);
  await finishPhase(p, meter, loopDelay);
  console.log(`\n--- offline burst: ${N} group messages (${opts["offline-window"]} in flight) while one member is offline; online members' view`);
  console.log(`  sending took         ${fmt(p.sendDoneMs / 1000)} s; last delivery ${fmt((p.lastDeliveryAt - p.firstSendAt) / 1000)} s after the first send${p.lost ? ` (then none for ${fmt((now() - p.lastDeliveryAt) / 1000)} s)` : ""}`);
  phaseLines(p).forEach((l) => console.log(l));
  results.phases.push(phaseSummary(p));

  // ---- the offline member connects and syncs
  await sleep(1000);
  // Unanswered sends (no reply in time) may still be stored: they are looked for too.
  const wantOffline = new Set(p.records.filter((r) => r.code === 0 || r.code === -2).map((r) => r.cid));
  const wantAll = new Set(records.filter((r) => r.code === 0 || r.code === -2).map((r) => r.cid));
  const seen = new Map(); // cid -> seq
  const seqs = [];
  let repeats = 0;
  let pushed = 0;
  let notices = 0;
  let unexpected = 0;
  let haveOffline = 0;
  let allAt = 0;
  const take = (m, via) => {
    if (via === "push") {
      pushed++;
    }
    seqs.push(m.seq);
    if (m.messageType === MT_COMMAND) {
      notices++;
      return;
    }
    if (seen.has(m.clientMsgId)) {
      repeats++;
      return;
    }
    seen.set(m.clientMsgId, m.seq);
    if (!byCid.has(m.clientMsgId)) {
      unexpected++;
    }
    if (wantOffline.has(m.clientMsgId) && ++haveOffline === wantOffline.size) {
      allAt = now();
    }
  };
  const sock = new DeviceSocket(baseUrl, extra, { onPush: (m) => take(m, "push"), onClose });
  sock.bench = { offline: true };
  const c0 = now();
  await sock.open(30_000);
  const connectMs = now() - c0;
  let seq = 0;
  let pages = 0;
  let sizes = [];
  const s0 = now();
  for (; pages < 10_000 && now() - s0 < 300_000; ) {
    const page = await sock.syncPage(seq, opts.limit, 60_000);
    pages++;
    sizes.push(page.messages.length);
    for (const m of page.messages) {
      take(m, "sync");
    }
    if (!page.hasMore || page.messages.length === 0) {
      break;
    }
    seq = page.messages.at(-1).seq;
  }
  const syncMs = now() - s0;
  // Give pushes in flight a moment, then one more sync page from the last seq.
  if (haveOffline < wantOffline.size) {
    await sleep(5000);
    const lastSeq = Math.max(0, ...seqs);
    const page = await sock.syncPage(lastSeq, opts.limit, 60_000);
    page.messages.forEach((m) => take(m, "sync"));
  }
  const sorted = [...seqs].sort((a, b) => a - b);
  let holes = 0;
  let seqRepeats = 0;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      seqRepeats++;
    } else if (sorted[i] !== sorted[i - 1] + 1) {
      holes += sorted[i] - sorted[i - 1] - 1;
    }
  }
  let outOfOrder = 0;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] <= seqs[i - 1]) {
      outOfOrder++;
    }
  }
  // Group order: the extra member's order of the burst must equal an online member's push order.
  const senderSetIdx = new Set(senders);
  const ref = members.find((d) => !senderSetIdx.has(d.index));
  const refOrder = ref.pushOrder.filter((cid) => wantOffline.has(cid));
  const extraOrder = [...seen.entries()].filter(([cid]) => wantOffline.has(cid)).sort((a, b) => a[1] - b[1]).map(([cid]) => cid);
  let orderMismatch = 0;
  for (let i = 0; i < Math.min(refOrder.length, extraOrder.length); i++) {
    if (refOrder[i] !== extraOrder[i]) {
      orderMismatch++;
    }
  }
  const missingOffline = [...wantOffline].filter((cid) => !seen.has(cid)).length;
  const missingAll = [...wantAll].filter((cid) => !seen.has(cid)).length;
  const sync = {
    offlineMessages: wantOffline.size,
    inboxMessages: seqs.length,
    connectMs,
    syncMs,
    timeToAllMs: allAt ? allAt - c0 : NaN,
    timeToAllFromFirstSyncMs: allAt ? allAt - s0 : NaN,
    pages,
    pageSizes: sizes,
    missingOffline,
    missingAll,
    repeats,
    seqRepeats,
    holes,
    outOfOrder,
    firstSeq: sorted[0],
    lastSeq: sorted.at(-1),
    notices,
    pushedAfterConnect: pushed,
    unexpected,
    orderMismatch,
    orderCompared: Math.min(refOrder.length, extraOrder.length),
  };
  results.sync = sync;
  console.log(`\n--- offline sync: the extra member connects and pages PT_SYNC {seq, limit ${opts.limit}} from seq 0`);
  console.log(`  connect              ${fmt(connectMs)} ms`);
  console.log(`  time to all ${wantOffline.size}     ${fmt(sync.timeToAllMs)} ms from connect (${fmt(sync.timeToAllFromFirstSyncMs)} ms from the first PT_SYNC); whole sync ${fmt(syncMs)} ms`);
  console.log(`  pages                ${pages} (sizes ${sizes.slice(0, 8).join(",")}${sizes.length > 8 ? ",..." : ""}); inbox held ${seqs.length} messages, seqs ${sorted[0]}..${sorted.at(-1)} incl. ${notices} notice(s)`);
  console.log(`  missing              ${missingOffline} of the ${wantOffline.size} offline-phase messages, ${missingAll} of all ${wantAll.size} group messages of the run`);
  console.log(`  repeats ${repeats}  seq holes ${holes}  seq repeats ${seqRepeats}  out of order ${outOfOrder}  unexpected ${unexpected}  pushed after connect ${pushed}`);
  console.log(`  group order          ${orderMismatch} differences from user ${ref.userId}'s push order over ${sync.orderCompared} messages`);
  await sock.close();
}

// ---------------------------------------------------------------- main

let server = null;
let stateDir = "";
let baseUrl = "";

async function cleanup() {
  closing = true;
  await mapLimit(members.filter((d) => d.sock), 64, (d) => d.sock.close(3000)).catch(() => undefined);
  if (server) {
    const s = server;
    server = null;
    await s.stop().catch((err) => log("server stop failed:", err.message));
  }
  if (stateDir) {
    rmSync(stateDir, { recursive: true, force: true });
    stateDir = "";
  }
}

async function main() {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  stateDir = mkdtempSync(join(opts.tmp || tmpdir(), "gim-bench-group-"));
  log(`starting the local server (state in ${stateDir})`);
  server = await startLocalServer({ port: 0, stateDir, quiet: true });
  baseUrl = server.url.replace("localhost", "127.0.0.1");
  if (new URL(baseUrl).hostname !== "127.0.0.1") {
    throw new Error(`server is not on 127.0.0.1: ${baseUrl}`);
  }
  workerdPidsCache = workerdPids();
  log(`server at ${baseUrl}; workerd pids ${workerdPidsCache.join(",") || "(none found)"}`);
  results.machine = {
    nproc: availableParallelism(),
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    cpu: cpus()[0]?.model ?? "?",
    loadAtStart: loadavg()[0],
    othersAtStart: await othersNow(),
    code: codeVersion(),
  };
  console.log(`code: ${results.machine.code} (the Worker is bundled from the working tree at start)`);
  console.log(
    `machine: ${results.machine.nproc} cores (${results.machine.cpu}), ${fmt(results.machine.memGiB)} GiB, node ${results.machine.node}; load ${fmt(results.machine.loadAtStart, 2)}; other busy processes: ${results.machine.othersAtStart.join(", ") || "none"}`,
  );

  // ---- users: M online + 1 extra (offline)
  const u0 = now();
  const users = await createUsers(baseUrl, M + 1, 1, opts.concurrency, (n) => {
    if (n % 100 === 0) {
      log(`  ${n}/${M + 1} users signed in`);
    }
  });
  results.setup.usersMs = now() - u0;
  log(`users: ${M + 1} in ${fmt(results.setup.usersMs / 1000)} s`);
  const extra = users.at(-1).devices[0];
  for (let i = 0; i < M; i++) {
    members.push({ index: i, ...users[i].devices[0], sock: null, pushes: [], pushOrder: [], own: new Set(), unanswered: 0, answeredErrors: 0, usedUnknown: 0, checkedIdx: 0, checkedPrev: 0, noticeAt: 0 });
  }

  // ---- sockets (opened before the group exists, so the creation notice is pushed to all)
  const o0 = now();
  await mapLimit(members, opts["open-concurrency"], async (dev) => {
    const sock = new DeviceSocket(baseUrl, dev, {
      onPush: (m, at, s) => {
        if (m.messageType !== MT_COMMAND) {
          dev.pushOrder.push(m.clientMsgId);
        }
        onPush(m, at, s);
      },
      onClose,
    });
    sock.bench = dev;
    dev.sock = sock;
    await sock.open(60_000);
  });
  results.setup.openMs = now() - o0;
  log(`sockets: ${M} open in ${fmt(results.setup.openMs / 1000)} s`);
  const keepAlive = setInterval(() => members.forEach((d) => d.sock?.ping()), 60_000);
  keepAlive.unref();

  // ---- the group
  const owner = members[0];
  const g0 = now();
  const created = await call(
    baseUrl,
    "/pb.LogicExt/CreateGroup",
    { name: "bench", memberIds: users.slice(1).map((u) => String(u.userId)) },
    { user_id: String(owner.userId), device_id: String(owner.deviceId), token: owner.token },
    120_000,
  );
  results.setup.createMs = now() - g0;
  groupId = Number(created.groupId);
  if (!(groupId > 0)) {
    throw new Error(`CreateGroup answered ${JSON.stringify(created)}`);
  }
  const allNotices = await waitFor(() => noticeCount >= M, 120_000, 20);
  const noticeTimes = members.filter((d) => d.noticeAt).map((d) => d.noticeAt - g0);
  results.setup.notice = { ...summarize(noticeTimes), devices: noticeCount, all: allNotices };
  console.log(`--- setup: ${M} online members + 1 offline (group of ${M + 1}), 1 device each; ${opts.bytes}-byte texts`);
  console.log(`  users                ${fmt(results.setup.usersMs / 1000)} s (RegisterDevice + SignIn, ${opts.concurrency} in flight)`);
  console.log(`  sockets              ${fmt(results.setup.openMs / 1000)} s (${opts["open-concurrency"]} in flight)`);
  console.log(`  CreateGroup          ${fmt(results.setup.createMs)} ms (group ${groupId})`);
  console.log(`  creation notice      on ${noticeCount}/${M} devices; after CreateGroup started: p50 ${fmt(results.setup.notice.p50)} ms  max ${fmt(results.setup.notice.max)} ms`);
  // Seqs before the phases (the notice) are checked with the first phase.

  if (!skip.has("latency")) {
    await settle("latency");
    await latencyPhase();
    await sleep(1000);
  }
  if (!skip.has("throughput")) {
    await settle("throughput");
    await loadPhase("throughput", opts.rate, opts.seconds);
    await sleep(2000);
    if (opts["find-max"]) {
      await findMax();
      await sleep(2000);
    }
  }
  if (!skip.has("offline") && opts["offline-messages"] > 0) {
    await settle("offline");
    await offlinePhase(extra);
  }

  console.log(`\n--- final accounting per phase (deliveries to online members)`);
  const phasesByName = new Map();
  for (const r of records) {
    phasesByName.set(r.phase, true);
  }
  for (const p of phasesByName.keys()) {
    const missingNow = expectedOf(p) - receivedOf(p);
    console.log(`  ${p.name.padEnd(20)} missing when the phase ended ${String(p.lost).padEnd(7)} arrived later ${String(p.late).padEnd(7)} never arrived ${missingNow}`);
    const summary = results.phases.find((x) => x.name === p.name);
    if (summary) {
      summary.arrivedLater = p.late;
      summary.neverArrived = missingNow;
    }
  }
  // Targets of the issue, from this run's figures.
  const lat = results.phases.find((x) => x.name === "latency");
  const thr = results.phases.find((x) => x.name === "throughput");
  console.log(`\n--- targets`);
  if (lat) {
    const met = lat.fanout.count >= 20 && lat.fanout.p99 < FANOUT_TARGET_MS && lat.lost === 0;
    console.log(`  every member device within ${FANOUT_TARGET_MS / 1000} s (p99 fan-out over ${lat.fanout.count} messages): ${fmt(lat.fanout.p99, 0)} ms, lost ${lat.lost} -> ${met ? "MET" : "MISSED"}`);
  }
  if (thr) {
    const met = thr.deliveriesPerSecond >= DELIVERIES_FLOOR && thr.lost === 0 && thr.duplicated === 0;
    console.log(`  ${DELIVERIES_FLOOR} deliveries/s sustained, zero loss (--rate ${thr.rate}): ${fmt(thr.deliveriesPerSecond, 0)} deliveries/s, lost ${thr.lost}, duplicated ${thr.duplicated}, held ${thr.held ? "yes" : "no"} -> ${met ? "MET" : "MISSED"}`);
  }
  if (results.findMax) {
    console.log(`  --find-max: highest rate held ${results.findMax.best ? `${results.findMax.best.rate} msg/s = ${fmt(results.findMax.best.deliveriesPerSecond, 0)} deliveries/s` : "none"}`);
  }
  if (results.sync) {
    console.log(`  offline sync: ${results.sync.missingOffline} of ${results.sync.offlineMessages} missing, all in ${fmt(results.sync.timeToAllMs, 0)} ms from connect`);
  }
  results.unknownPushes = unknownPushes;
  results.unexpectedCloses = unexpectedCloses;
  results.stillOpen = members.filter((d) => d.sock && !d.sock.closed).length;
  console.log(`\n--- run`);
  console.log(`  sockets still open ${results.stillOpen}/${M}; unexpected closes ${unexpectedCloses}; unknown pushes ${unknownPushes}`);
  clearInterval(keepAlive);
}

const watchdog = setTimeout(() => {
  log(`the run did not finish within --max-minutes ${opts["max-minutes"]}; exiting`);
  cleanup().finally(() => process.exit(2));
}, opts["max-minutes"] * 60_000);
watchdog.unref();

// Miniflare ends the process on SIGINT itself: the state dir goes in any case.
process.on("exit", () => {
  if (stateDir) {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

process.on("SIGINT", () => {
  log("interrupted");
  cleanup().finally(() => process.exit(130));
});

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await cleanup();
}
if (opts.json) {
  console.log(JSON.stringify(results));
}
process.exit(exitCode);
