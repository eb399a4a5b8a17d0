// Benchmark of the core 1:1 path: N users x 2 devices on WebSockets, messages sent at a fixed
// offered rate (open loop) from random devices to random other users; every delivery
// (receiver's devices + sender's other devices) timed end to end, checked for loss, duplicates
// and seq gaps. `--find-max` steps the rate up and prints the highest rate held.
//
//   node bench/one-to-one.mjs [--rate 800] [--seconds 20] [--users 50] [--find-max] [--url http://127.0.0.1:8787]
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  createUsers,
  cpuMeter,
  DeviceSocket,
  diskSyncLatency,
  fmt,
  log,
  mapLimit,
  now,
  openServer,
  parseArgs,
  rssBytes,
  sleep,
  summarize,
  textContent,
  waitFor,
  workerdPids,
} from "./lib.mjs";

const USAGE = `usage: node bench/one-to-one.mjs [options]
  --url URL            use a running server on 127.0.0.1 (default: start one in-process, fresh state)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir; /dev/shm = tmpfs, no disk fsync)
  --users N            users (default 50)
  --devices N          devices per user (default 2)
  --rate R             offered messages/s (default 800)
  --seconds S          load duration (default 20)
  --warmup W           before measuring, not counted: "pairs" (default) sends one message per ordered
                       user pair at half the rate (every inbox has met every peer: its receiver lookup
                       cache is warm); a number S sends random messages for S s at a quarter of the
                       rate; 0 measures a cold server
  --drain S            seconds to wait for outstanding deliveries after the load (default 5)
  --late S             after the drain, wait up to S more seconds (while deliveries still come) to tell late from never (default 60)
  --bytes N            text length of each message (default 32)
  --ack                ack pushed seqs once a second per device (PT_MESSAGE MessageACK), like a client would
  --find-max           step the rate up (--steps, --step-seconds) and print the highest rate held
  --steps LIST         rates for --find-max (default 800,1000,1200,1500,2000,2500,3000,4000,5000)
  --step-seconds S     seconds per --find-max step (default 10)
  --p99 MS             latency target for --find-max (default 250)
  --concurrency N      setup calls in flight (default 8)
  --timeline           print delivery latency per second of sending (p50/p99/max), to spot stalls
  --json               also print the results as one JSON line`;

const opts = parseArgs(
  {
    url: "",
    tmp: "",
    users: 50,
    devices: 2,
    rate: 800,
    seconds: 20,
    warmup: "pairs",
    drain: 5,
    late: 60,
    bytes: 32,
    ack: false,
    "find-max": false,
    steps: "800,1000,1200,1500,2000,2500,3000,4000,5000",
    "step-seconds": 10,
    p99: 250,
    concurrency: 8,
    json: false,
    timeline: false,
    "max-outstanding": 50_000,
  },
  process.argv.slice(2),
  USAGE,
);
if (opts.users < 2 || opts.devices < 1 || opts.rate <= 0 || opts.seconds <= 0) {
  throw new Error("need --users >= 2, --devices >= 1, --rate > 0, --seconds > 0");
}
if (opts.warmup !== "pairs" && !(Number(opts.warmup) >= 0)) {
  throw new Error("--warmup must be pairs or a number of seconds");
}
const MAX_SECONDS = 3600;
if (opts.seconds > MAX_SECONDS || opts["step-seconds"] > MAX_SECONDS) {
  throw new Error(`durations are capped at ${MAX_SECONDS} s`);
}

// ---------------------------------------------------------------- state

/** One entry per device: its socket, owner, and what it received. */
const devices = [];
/** userId -> indexes into devices. */
const devicesOfUser = new Map();
/** All user ids. */
let userIds = [];
/** clientMsgId -> record of one sent message (across all phases). */
const messages = new Map();
/** The phase being measured (counters and samples). */
let phase = null;

function newPhase(name, rate, seconds) {
  return {
    name,
    rate,
    seconds,
    sent: 0,
    skipped: 0,
    replies: 0,
    errors: 0,
    errorSamples: new Map(),
    replyFailures: 0,
    expected: 0,
    deliveries: 0,
    duplicates: 0,
    wrongDevice: 0,
    unknown: 0,
    late: 0,
    latency: [],
    latencyReceiver: [],
    latencyOwn: [],
    replyLatency: [],
    firstSendAt: 0,
    lastSendAt: 0,
    lastDeliveryAt: 0,
    outstandingReplies: 0,
    records: [],
    timeline: [],
  };
}

function onPush(message, recvAt, sock) {
  const dev = sock.bench;
  const cid = message.clientMsgId;
  dev.pushedSeqs.push(message.seq);
  if (message.seq <= dev.lastPushedSeq) {
    dev.outOfOrder++;
  }
  dev.lastPushedSeq = Math.max(dev.lastPushedSeq, message.seq);
  if (dev.ackEnabled) {
    dev.ackDue = Math.max(dev.ackDue, message.seq);
  }
  const rec = messages.get(cid);
  if (!rec) {
    if (phase) {
      phase.unknown++;
    }
    return;
  }
  if (dev.seen.has(cid)) {
    rec.phase.duplicates++;
    return;
  }
  dev.seen.add(cid);
  if (!rec.pending.has(dev.index)) {
    rec.phase.wrongDevice++;
    return;
  }
  rec.pending.delete(dev.index);
  const p = rec.phase;
  if (p !== phase) {
    p.late++;
  }
  const latency = recvAt - rec.sendAt;
  p.deliveries++;
  p.latency.push(latency);
  if (opts.timeline) {
    const second = Math.max(0, Math.floor((rec.sendAt - p.firstSendAt) / 1000));
    (p.timeline[second] ??= []).push(latency);
  }
  (dev.userId === rec.receiverId ? p.latencyReceiver : p.latencyOwn).push(latency);
  p.lastDeliveryAt = Math.max(p.lastDeliveryAt, recvAt);
  if (message.sender.senderId !== rec.senderId || message.receiverId !== rec.receiverId) {
    p.wrongDevice++;
  }
}

// ---------------------------------------------------------------- load generation

let msgCounter = 0;
const runTag = Math.random().toString(36).slice(2, 8);

/** A random sender device and a random receiver user other than the sender. */
function randomPair() {
  const from = devices[Math.floor(Math.random() * devices.length)];
  let receiverId;
  do {
    receiverId = userIds[Math.floor(Math.random() * userIds.length)];
  } while (receiverId === from.userId);
  return [from, receiverId];
}

/** Every ordered pair of users once (random device of the sender), in random order. */
function allPairs() {
  const pairs = [];
  for (const a of userIds) {
    for (const b of userIds) {
      if (a !== b) {
        const own = devicesOfUser.get(a);
        pairs.push([devices[own[Math.floor(Math.random() * own.length)]], b]);
      }
    }
  }
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  let next = 0;
  return () => (next < pairs.length ? pairs[next++] : null);
}

function sendOne(p, [from, receiverId]) {
  const cid = `${runTag}-${++msgCounter}`;
  const pending = new Set();
  for (const i of devicesOfUser.get(receiverId)) {
    pending.add(i);
  }
  for (const i of devicesOfUser.get(from.userId)) {
    if (i !== from.index) {
      pending.add(i);
    }
  }
  const text = `bench ${cid} `.padEnd(opts.bytes, "x");
  const rec = { cid, phase: p, senderId: from.userId, senderIndex: from.index, receiverId, pending, sendAt: 0, replied: false, code: -1 };
  messages.set(cid, rec);
  p.records.push(rec);
  p.expected += pending.size;
  p.sent++;
  p.outstandingReplies++;
  rec.sendAt = now();
  if (!p.firstSendAt) {
    p.firstSendAt = rec.sendAt;
  }
  p.lastSendAt = rec.sendAt;
  from.sock.sendMessage(receiverId, textContent(text), cid, 60_000).then(
    ({ out, recvAt, seq }) => {
      p.outstandingReplies--;
      p.replies++;
      rec.replied = true;
      rec.code = out.code;
      if (out.code !== 0) {
        p.errors++;
        const key = `${out.code} ${out.message}`;
        p.errorSamples.set(key, (p.errorSamples.get(key) ?? 0) + 1);
        p.expected -= rec.pending.size;
        rec.pending.clear();
        return;
      }
      p.replyLatency.push(recvAt - rec.sendAt);
      from.ownSeqs.push(seq);
    },
    (err) => {
      p.outstandingReplies--;
      p.replyFailures++;
      const key = `no reply: ${err.message.replace(/request \d+/, "request")}`;
      p.errorSamples.set(key, (p.errorSamples.get(key) ?? 0) + 1);
    },
  );
}

/**
 * Offers `rate` messages/s for `seconds` (open loop: sends never wait for replies); `pick`
 * chooses sender and receiver, null when it has no more.
 */
async function offer(p, pick = randomPair) {
  const start = now();
  const end = start + p.seconds * 1000;
  const hardStop = end + 5_000;
  let ticks = 0;
  for (;;) {
    const t = now();
    if (t >= end || t >= hardStop || ticks++ > p.seconds * 1000) {
      break;
    }
    const due = Math.floor(((t - start) / 1000) * p.rate) - p.sent - p.skipped;
    let exhausted = false;
    for (let i = 0; i < due; i++) {
      if (p.outstandingReplies >= opts["max-outstanding"]) {
        p.skipped++;
        continue;
      }
      const pair = pick();
      if (!pair) {
        exhausted = true;
        break;
      }
      sendOne(p, pair);
    }
    if (exhausted) {
      break;
    }
    await sleep(2);
  }
  p.loadSeconds = (now() - start) / 1000;
}

/** Runs one measured phase and returns its result. */
async function runPhase(name, rate, seconds, pids, pick = randomPair) {
  const p = newPhase(name, rate, seconds);
  phase = p;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = cpuMeter(pids);
  await offer(p, pick);
  const cpuLoad = cpu();
  const drainStart = now();
  const allDone = () => p.outstandingReplies === 0 && p.deliveries >= p.expected;
  await waitFor(allDone, opts.drain * 1000, 20);
  const drainMs = now() - drainStart;
  loop.disable();
  phase = null;
  const r = report(p, { cpuLoad, drainMs, loop, pids });
  // Deliveries missing after the drain count as lost; keep waiting (while they still come, at
  // most --late s) to tell late ones from ones that never arrive.
  const missingAtDrain = r.lost + r.lostWithoutReply;
  if (missingAtDrain > 0 && opts.late > 0) {
    const lateStart = now();
    let seen = p.deliveries;
    let progressAt = now();
    await waitFor(() => {
      if (p.deliveries !== seen) {
        seen = p.deliveries;
        progressAt = now();
      }
      return allDone() || now() - progressAt > 3_000 || now() - lateStart > opts.late * 1000;
    }, opts.late * 1000 + 1_000, 50);
    const stillMissing = p.records.reduce((n, rec) => n + (rec.replied && rec.code !== 0 ? 0 : rec.pending.size), 0);
    r.unansweredAtEnd = p.sent - p.replies;
    r.arrivedAfterDrain = missingAtDrain - stillMissing;
    r.neverArrived = stillMissing;
    r.lateWaitMs = now() - lateStart;
  } else {
    r.unansweredAtEnd = r.noReply;
    r.arrivedAfterDrain = 0;
    r.neverArrived = missingAtDrain;
    r.lateWaitMs = 0;
  }
  return r;
}

// ---------------------------------------------------------------- checks and report

/** Seqs each device saw (pushes + its own send replies) must be 1..max with no gap or repeat. */
function seqCheck() {
  let gaps = 0;
  let repeats = 0;
  let outOfOrder = 0;
  const samples = [];
  for (const dev of devices) {
    dev.gapSeqs = [];
    const seqs = Int32Array.from([...dev.pushedSeqs, ...dev.ownSeqs]).sort();
    let expect = 1;
    for (const s of seqs) {
      if (s < expect) {
        repeats++;
      } else {
        if (s > expect) {
          gaps += s - expect;
          for (let m = expect; m < s && dev.gapSeqs.length < 1000; m++) {
            dev.gapSeqs.push(m);
          }
          if (samples.length < 5) {
            samples.push(`device ${dev.deviceId} (user ${dev.userId}): missing seq ${expect}${s - 1 > expect ? `..${s - 1}` : ""}`);
          }
        }
        expect = s + 1;
      }
    }
    outOfOrder += dev.outOfOrder;
  }
  return { gaps, repeats, outOfOrder, samples };
}

function report(p, { cpuLoad, drainMs, loop, pids }) {
  let lost = 0;
  let lostNoReply = 0;
  const lostSamples = [];
  for (const rec of p.records) {
    if (rec.pending.size > 0) {
      if (rec.replied) {
        lost += rec.pending.size;
        if (lostSamples.length < 5) {
          lostSamples.push(`${rec.cid} user ${rec.senderId} -> ${rec.receiverId}: missing on device index ${[...rec.pending].join(",")}`);
        }
      } else {
        lostNoReply += rec.pending.size;
      }
    }
  }
  const fullyDelivered = p.records.filter((r) => r.replied && r.code === 0 && r.pending.size === 0).length;
  const window = Math.max(p.lastDeliveryAt, p.lastSendAt) - p.firstSendAt;
  const windowSeconds = Math.max(window / 1000, p.loadSeconds);
  const lat = summarize(p.latency);
  const result = {
    phase: p.name,
    offeredRate: p.rate,
    seconds: p.seconds,
    sent: p.sent,
    skippedClientBacklog: p.skipped,
    achievedSendRate: p.sent / p.loadSeconds,
    replies: p.replies,
    errors: p.errors,
    noReply: p.replyFailures + (p.sent - p.replies - p.replyFailures),
    expectedDeliveries: p.expected,
    deliveries: p.deliveries,
    deliveredMessagesPerSecond: fullyDelivered / windowSeconds,
    deliveriesPerSecond: p.deliveries / windowSeconds,
    latencyMs: lat,
    receiverLatencyMs: summarize(p.latencyReceiver),
    senderOtherDeviceLatencyMs: summarize(p.latencyOwn),
    sendReplyLatencyMs: summarize(p.replyLatency),
    lost,
    lostWithoutReply: lostNoReply,
    duplicated: p.duplicates,
    wrongDevice: p.wrongDevice,
    unknownPushes: p.unknown,
    drainMs,
    eventLoopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    cpu: { nodePercent: cpuLoad.nodePercent, workerdPercent: cpuLoad.workerdPercent, otherPercent: cpuLoad.otherPercent },
    workerdRssMB: pids.length ? rssBytes(pids) / 2 ** 20 : NaN,
    timeline: opts.timeline ? Array.from(p.timeline, (t) => summarize(t ?? [])) : undefined,
    errorSamples: Object.fromEntries(p.errorSamples),
    lostSamples,
  };
  return result;
}

function printResult(r) {
  const l = r.latencyMs;
  console.log(`--- ${r.phase}: offered ${r.offeredRate} msg/s for ${r.seconds} s`);
  console.log(`  sent                 ${r.sent} (${fmt(r.achievedSendRate)} msg/s achieved)${r.skippedClientBacklog ? `, ${r.skippedClientBacklog} not offered (client backlog)` : ""}`);
  console.log(`  delivered            ${fmt(r.deliveredMessagesPerSecond)} messages/s fully delivered, ${fmt(r.deliveriesPerSecond)} deliveries/s (${r.deliveries}/${r.expectedDeliveries} deliveries)`);
  console.log(`  latency (all)        p50 ${fmt(l.p50)} ms  p95 ${fmt(l.p95)} ms  p99 ${fmt(l.p99)} ms  max ${fmt(l.max)} ms`);
  const rl = r.receiverLatencyMs;
  const ol = r.senderOtherDeviceLatencyMs;
  const sl = r.sendReplyLatencyMs;
  console.log(`  latency receiver     p50 ${fmt(rl.p50)}  p95 ${fmt(rl.p95)}  p99 ${fmt(rl.p99)}  max ${fmt(rl.max)} ms`);
  console.log(`  latency sender's 2nd p50 ${fmt(ol.p50)}  p95 ${fmt(ol.p95)}  p99 ${fmt(ol.p99)}  max ${fmt(ol.max)} ms`);
  console.log(`  send -> reply        p50 ${fmt(sl.p50)}  p95 ${fmt(sl.p95)}  p99 ${fmt(sl.p99)}  max ${fmt(sl.max)} ms`);
  if (r.lost + r.lostWithoutReply > 0) {
    console.log(`  missing after drain  ${r.lost + r.lostWithoutReply} deliveries: ${r.arrivedAfterDrain} arrived later (within ${fmt(r.lateWaitMs / 1000)} s more), ${r.neverArrived} still missing then`);
  }
  console.log(`  lost ${r.lost}  duplicated ${r.duplicated}  errors ${r.errors}  no reply by the drain ${r.noReply}${r.lostWithoutReply ? ` (${r.lostWithoutReply} deliveries of unanswered sends missing)` : ""}${r.unansweredAtEnd ? `, ${r.unansweredAtEnd} never answered` : ""}  wrong device ${r.wrongDevice}  unknown pushes ${r.unknownPushes}`);
  console.log(`  cpu                  node (client + miniflare) ${fmt(r.cpu.nodePercent, 0)}%  workerd ${fmt(r.cpu.workerdPercent, 0)}%  other processes ${fmt(r.cpu.otherPercent, 0)}%  (% of one core; ${fmt(r.workerdRssMB, 0)} MB workerd RSS)`);
  console.log(`  client event loop    delay p99 ${fmt(r.eventLoopDelayMs.p99)} ms  max ${fmt(r.eventLoopDelayMs.max)} ms; drain ${fmt(r.drainMs, 0)} ms`);
  if (r.timeline) {
    console.log("  timeline (by second of sending): second deliveries p50 p99 max");
    r.timeline.forEach((t, i) => console.log(`    ${String(i).padStart(4)} ${String(t.count).padStart(6)} ${fmt(t.p50).padStart(8)} ${fmt(t.p99).padStart(8)} ${fmt(t.max).padStart(8)}`));
  }
  for (const [k, v] of Object.entries(r.errorSamples)) {
    console.log(`  error x${v}: ${k}`);
  }
  for (const s of r.lostSamples) {
    console.log(`  lost: ${s}`);
  }
}

function held(r) {
  return (
    r.lost === 0 &&
    r.noReply === 0 &&
    r.errors === 0 &&
    r.duplicated === 0 &&
    r.skippedClientBacklog === 0 &&
    r.latencyMs.p99 < opts.p99 &&
    r.achievedSendRate >= 0.97 * r.offeredRate
  );
}

// ---------------------------------------------------------------- main

async function main() {
  const server = await openServer(opts.url, opts.tmp);
  const results = [];
  let exitCode = 0;
  try {
    const pids = server.inProcess ? workerdPids() : [];
    log(`server ${server.url}${server.inProcess ? ` (in-process, workerd pid ${pids.join(",")}, state ${server.stateDir})` : ""}`);
    const t0 = now();
    const users = await createUsers(server.url, opts.users, opts.devices, opts.concurrency);
    log(`${opts.users} users x ${opts.devices} devices signed in (${fmt((now() - t0) / 1000)} s)`);
    userIds = users.map((u) => u.userId);
    for (const user of users) {
      devicesOfUser.set(user.userId, []);
      for (const device of user.devices) {
        const dev = {
          index: devices.length,
          userId: user.userId,
          deviceId: device.deviceId,
          sock: null,
          seen: new Set(),
          pushedSeqs: [],
          ownSeqs: [],
          lastPushedSeq: 0,
          outOfOrder: 0,
          ackEnabled: opts.ack,
          ackDue: 0,
          acked: 0,
        };
        dev.sock = new DeviceSocket(server.url, device, {
          onPush,
          onClose: (_s, code, reason) => {
            if (!closing) {
              log(`socket of device ${device.deviceId} closed unexpectedly: ${code} ${reason}`);
              unexpectedCloses++;
            }
          },
        });
        dev.sock.bench = dev;
        devices.push(dev);
        devicesOfUser.get(user.userId).push(dev.index);
      }
    }
    await mapLimit(devices, 16, (dev) => dev.sock.open());
    log(`${devices.length} sockets open`);
    const ackTimer = opts.ack
      ? setInterval(() => {
          for (const dev of devices) {
            if (dev.ackDue > dev.acked) {
              dev.sock.ack(dev.ackDue);
              dev.acked = dev.ackDue;
            }
          }
        }, 1000)
      : null;

    // The disk's synchronous-write speed around the run: on-disk latency follows it.
    const disk = { before: server.stateDir ? diskSyncLatency(server.stateDir) : null, after: null };
    if (disk.before) {
      log(`disk: 4 KiB write + fsync p50 ${fmt(disk.before.p50, 2)} ms, p99 ${fmt(disk.before.p99, 2)} ms (${server.stateDir})`);
    }
    if (opts.warmup === "pairs") {
      // One message per ordered pair of users: each inbox has looked every peer up once.
      const n = userIds.length * (userIds.length - 1);
      const rate = Math.max(1, Math.round(opts.rate / 2));
      const warm = await runPhase(`warm-up (not counted): ${n} messages, one per ordered user pair`, rate, Math.ceil(n / rate) + 1, pids, allPairs());
      printResult(warm);
      await sleep(2000);
    } else if (Number(opts.warmup) > 0) {
      const warm = await runPhase("warm-up (not counted)", Math.max(1, Math.round(opts.rate / 4)), Number(opts.warmup), pids);
      printResult(warm);
      await sleep(2000);
    }

    if (!opts["find-max"]) {
      const r = await runPhase("load", opts.rate, opts.seconds, pids);
      results.push(r);
      printResult(r);
    } else {
      const steps = opts.steps.split(",").map(Number).filter((n) => n > 0).slice(0, 30);
      let best = 0;
      // Up the steps until one is not held; if the first is not held, halve down to find one that is.
      const queue = [...steps];
      let down = false;
      while (queue.length) {
        const rate = queue.shift();
        const r = await runPhase(`step ${rate}`, rate, opts["step-seconds"], pids);
        r.held = held(r);
        results.push(r);
        printResult(r);
        console.log(`  => ${r.held ? "HELD" : "NOT HELD"} (p99 < ${opts.p99} ms, zero loss/errors, achieved >= 97% of offered)`);
        // Let a backlog left by a step that was not held clear before the next one.
        await waitFor(() => devices.every((d) => d.sock.pending.size === 0), 120_000, 200);
        await sleep(2000);
        if (r.held) {
          best = rate;
          if (down) {
            break;
          }
        } else if (best === 0 && rate > 25) {
          down = true;
          queue.length = 0;
          queue.push(Math.floor(rate / 2));
        } else {
          break;
        }
      }
      console.log(`\nhighest rate held: ${best ? `${best} msg/s` : "none"} (steps of ${opts["step-seconds"]} s; p99 < ${opts.p99} ms, zero loss)`);
      console.log("rate     achieved  deliv/s   p50     p95     p99     max     lost  dup  err  held");
      for (const r of results) {
        const l = r.latencyMs;
        console.log(
          `${String(r.offeredRate).padEnd(8)} ${fmt(r.achievedSendRate).padEnd(9)} ${fmt(r.deliveriesPerSecond).padEnd(9)} ${fmt(l.p50).padEnd(7)} ${fmt(l.p95).padEnd(7)} ${fmt(l.p99).padEnd(7)} ${fmt(l.max).padEnd(7)} ${String(r.lost).padEnd(5)} ${String(r.duplicated).padEnd(4)} ${String(r.errors + r.noReply).padEnd(4)} ${r.held ? "yes" : "no"}`,
        );
      }
    }
    if (ackTimer) {
      clearInterval(ackTimer);
    }
    if (server.stateDir) {
      disk.after = diskSyncLatency(server.stateDir);
      console.log(
        `disk (4 KiB write + fsync in the state folder): before p50 ${fmt(disk.before.p50, 2)} ms p99 ${fmt(disk.before.p99, 2)} ms; after p50 ${fmt(disk.after.p50, 2)} ms p99 ${fmt(disk.after.p99, 2)} ms`,
      );
    }

    // Anything stored but never pushed? Each device syncs after the highest seq it knows.
    let storedNotPushed = 0;
    await mapLimit(devices, 16, async (dev) => {
      let known = 0;
      for (const s of dev.pushedSeqs) known = Math.max(known, s);
      for (const s of dev.ownSeqs) known = Math.max(known, s);
      if (known > 0 && !dev.sock.closed) {
        try {
          const page = await dev.sock.syncPage(known, 500, 30_000);
          // A copy stored meanwhile is pushed too: give pushes 2 s, then count what never came.
          await sleep(2_000);
          storedNotPushed += page.messages.filter((m) => m.sender.deviceId !== dev.deviceId && !dev.seen.has(m.clientMsgId)).length;
        } catch (err) {
          log(`verification sync of device ${dev.deviceId} failed: ${err.message}`);
        }
      }
    });
    const seq = seqCheck();
    // A gap is either this device's own send whose reply never came (its seq is then unknown
    // here; own sends are not pushed back to the sending device) or a copy never pushed to it.
    // Fetch the missing seqs (at most 200 syncs) and tell them apart.
    seq.gapsOwnUnanswered = 0;
    seq.gapsNeverPushed = 0;
    seq.gapsUnchecked = 0;
    let syncBudget = 200;
    for (const dev of devices) {
      for (const missing of dev.gapSeqs) {
        if (syncBudget <= 0 || dev.sock.closed) {
          continue;
        }
        syncBudget--;
        try {
          const page = await dev.sock.syncPage(missing - 1, 1, 30_000);
          const m = page.messages[0];
          if (!m || m.seq !== missing) {
            // seq 0 asks "after the highest ack", so seq 1 cannot be fetched once a device acked
            if (missing > 1) {
              seq.gapsHoles = (seq.gapsHoles ?? 0) + 1;
              if (seq.samples.length < 10) {
                seq.samples.push(`device ${dev.deviceId} (user ${dev.userId}): seq ${missing} is not in the inbox (sync after ${missing - 1} returned ${m ? `seq ${m.seq}` : "nothing"})`);
              }
            }
          } else if (m.sender.deviceId === dev.deviceId || dev.seen.has(m.clientMsgId)) {
            seq.gapsOwnUnanswered++; // own send without reply, or pushed after all (late)
          } else {
            seq.gapsNeverPushed++;
            if (seq.samples.length < 10) {
              seq.samples.push(`device ${dev.deviceId} (user ${dev.userId}): seq ${missing} stored (${m.clientMsgId}) but never pushed to it`);
            }
          }
        } catch {
          // counted as not checked
        }
      }
    }
    seq.gapsHoles ??= 0;
    seq.gapsUnchecked = seq.gaps - seq.gapsOwnUnanswered - seq.gapsNeverPushed - seq.gapsHoles;
    console.log(`\nseq check (all phases, ${devices.length} devices): gaps ${seq.gaps} (${seq.gapsOwnUnanswered} own sends whose reply never came or pushed late, ${seq.gapsNeverPushed} stored but never pushed, ${seq.gapsHoles} not in the inbox, ${seq.gapsUnchecked} not checked), repeated seqs ${seq.repeats}, pushes out of order ${seq.outOfOrder}, stored after the last seq seen but never pushed ${storedNotPushed}, unexpected socket closes ${unexpectedCloses}`);
    for (const s of seq.samples) {
      console.log(`  ${s}`);
    }
    if (opts.json) {
      console.log(JSON.stringify({ options: opts, results, disk, seqCheck: { ...seq, storedNotPushed, unexpectedCloses } }));
    }
  } catch (err) {
    console.error(err);
    exitCode = 1;
  } finally {
    closing = true;
    await Promise.all(devices.map((dev) => dev.sock?.close(2_000).catch(() => {})));
    await server.stop();
  }
  return exitCode;
}

let closing = false;
let unexpectedCloses = 0;
const guard = setTimeout(() => {
  console.error("benchmark did not finish within its overall time limit; exiting");
  process.exit(2);
}, 3 * 3600 * 1000);
guard.unref();
const code = await main();
process.exit(code);
