// One measured phase of bench/one-to-one.mjs: offer the load, drain, tell late deliveries from
// lost ones, and the phase's figures; `held` decides a --find-max step.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { cpuMeter, now, rssBytes, summarize, waitFor } from "../lib.mjs";
import { newPhase } from "./state.mjs";
import { offer, randomPair } from "./traffic.mjs";

/** Runs one measured phase and returns its result; `pick` chooses sender and receiver (default random). */
export async function runPhase(st, name, rate, seconds, pids, pick = () => randomPair(st)) {
  const { opts } = st;
  const p = newPhase(name, rate, seconds);
  st.phase = p;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = cpuMeter(pids);
  await offer(st, p, pick);
  const cpuLoad = cpu();
  const drainStart = now();
  const allDone = () => p.outstandingReplies === 0 && p.deliveries >= p.expected;
  await waitFor(allDone, opts.drain * 1000, 20);
  const drainMs = now() - drainStart;
  loop.disable();
  st.phase = null;
  const r = report(st, p, { cpuLoad, drainMs, loop, pids });
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

/** The figures of phase `p` at the end of its drain. */
function report(st, p, { cpuLoad, drainMs, loop, pids }) {
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
    timeline: st.opts.timeline ? Array.from(p.timeline, (t) => summarize(t ?? [])) : undefined,
    errorSamples: Object.fromEntries(p.errorSamples),
    lostSamples,
  };
  return result;
}

/** A --find-max step is held: p99 < --p99, zero loss/errors/duplicates, >= 97 % of the offered rate sent. */
export function held(st, r) {
  return (
    r.lost === 0 &&
    r.noReply === 0 &&
    r.errors === 0 &&
    r.duplicated === 0 &&
    r.skippedClientBacklog === 0 &&
    r.latencyMs.p99 < st.opts.p99 &&
    r.achievedSendRate >= 0.97 * r.offeredRate
  );
}
