// One room phase of bench/room.mjs: send at a rate, drain, wait for late deliveries, then the
// phase's figures (deliveries/s, latency, fan-out, loss per socket) and whether it held.
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fmt, log, now, rssBytes, sleep, summarize, waitFor } from "../lib.mjs";
import { cpuMeterThreads } from "./machine.mjs";
import { printPhase } from "./report.mjs";
import { expectedDeliveries, newPhase, sendAtRate } from "./send.mjs";

/** Runs room phase `name` at `rate` msg/s for `seconds`; prints it and resolves its result. */
export async function runRoomPhase(st, name, rate, seconds) {
  const { opts, N } = st;
  const p = newPhase(st, name, rate, seconds);
  const meter = cpuMeterThreads(st.workerdPids);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const loadBefore = loadavg()[0];
  log(`${name}: ${rate} msg/s x ${N} subscribers = ${rate * N} deliveries/s offered, ${seconds} s (load ${fmt(loadBefore, 2)})`);
  await sendAtRate(st, p);
  const sendDone = now();
  // Drain: every expected delivery and every reply, up to --drain s.
  const complete = () => p.deliveries >= expectedDeliveries(st, p) && p.replies + p.noReply >= p.sent;
  await waitFor(complete, opts.drain * 1000, 20);
  p.drainMs = now() - sendDone;
  p.missingAfterDrain = Math.max(0, expectedDeliveries(st, p) - p.deliveries);
  const cpu = meter();
  loopDelay.disable();
  if (!complete()) {
    await waitLate(st, p, complete);
  }
  st.current = null;
  const r = phaseResult(st, p, { cpu, loopDelay, loadBefore });
  if (opts.timeline) {
    r.timeline = timeline(st, p);
  }
  st.results.phases.push(r);
  printPhase(st, r);
  // Free the big arrays of a finished phase (late frames of it are then counted as unknown).
  p.recv = new Uint8Array(0);
  p.latency = new Float32Array(0);
  p.cap = 0;
  return r;
}

/** Late: while deliveries still come, up to --late s more. */
async function waitLate(st, p, complete) {
  const { opts } = st;
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

/** The figures of a finished phase, and `held`. */
function phaseResult(st, p, { cpu, loopDelay, loadBefore }) {
  const { opts, N } = st;
  const { name, rate, seconds } = p;
  const expected = expectedDeliveries(st, p);
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
  const { socketsMissing, worstSocketMissing, messagesIncomplete } = missing(st, p);
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
    workerdRssMB: rssBytes(st.workerdPids) / 1e6,
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
  return r;
}

/** Sockets that missed something, and how much; messages not on every socket. */
function missing(st, p) {
  const { N } = st;
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
  return { socketsMissing, worstSocketMissing, messagesIncomplete };
}

/** --timeline: per second of sending, messages sent and fan-out time p50/max. */
function timeline(st, p) {
  const { N } = st;
  const out = [];
  for (let sec = 0; sec * p.rate < p.sent; sec++) {
    const f = [];
    for (let k = Math.ceil(sec * p.rate); k < Math.min(p.sent, Math.ceil((sec + 1) * p.rate)); k++) {
      f.push(p.count[k] === N ? p.lastRecv[k] - p.sentAt[k] : Infinity);
    }
    const s = summarize(f);
    out.push({ second: sec, messages: f.length, fanoutP50: s.p50, fanoutMax: s.max });
  }
  return out;
}

/** Frames still arriving (a late backlog) would spoil the next phase: waits until none for 2 s. */
export async function waitServerQuiet(st, label) {
  let seen = totalDeliveries(st);
  let quietSince = now();
  const deadline = now() + 60_000;
  while (now() - quietSince < 2_000 && now() < deadline) {
    await sleep(200);
    const t = totalDeliveries(st);
    if (t !== seen) {
      seen = t;
      quietSince = now();
    }
  }
  if (now() >= deadline) {
    log(`${label}: deliveries still arriving after 60 s`);
  }
}

function totalDeliveries(st) {
  return st.phases.reduce((a, p) => a + p.deliveries + p.duplicates, 0) + st.unknownFrames;
}
