// Output of bench/group.mjs: a phase's result lines and JSON summary, and the closing sections
// (final accounting per phase, the targets, the run's socket figures).
import { fmt } from "../lib.mjs";
import { DELIVERIES_FLOOR, FANOUT_TARGET_MS } from "./options.mjs";
import { expectedOf, receivedOf } from "./state.mjs";

/** The result lines of a finished phase (also sets p.timeline and p.longestPauseS). */
export function phaseLines(st, p) {
  const f = p.fanout;
  const l = p.latencyStats;
  const r = p.replyStats;
  const lines = [
    `  sent                 ${p.sent} group messages${p.rate ? ` (${fmt(p.sent / Math.max(p.sendSeconds, 1e-9))} msg/s achieved, offered ${p.rate})` : ""}; errors ${p.errors}, no reply ${p.noReply}, skipped ${p.skipped}`,
    `  deliveries           ${p.deliveries}/${expectedOf(p)} (${st.expected} per message)`,
    `  fan-out (last dev.)  p50 ${fmt(f.p50)} ms  p95 ${fmt(f.p95)} ms  p99 ${fmt(f.p99)} ms  max ${fmt(f.max)} ms  (${f.count} complete, ${p.incompleteMessages} incomplete)`,
    `  latency per delivery p50 ${fmt(l.p50)} ms  p95 ${fmt(l.p95)} ms  p99 ${fmt(l.p99)} ms  max ${fmt(l.max)} ms`,
    `  send -> reply        p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  max ${fmt(r.max)} ms`,
    `  deliveries/s         ${fmt(p.deliveriesPerSecond, 0)} (first send -> last delivery)  ${fmt(p.windowDeliveriesPerSecond, 0)} (while sending)`,
    `  lost ${p.lost}  duplicated ${p.duplicates}  late ${p.late}  own-device pushes ${p.ownPush}  drain ${fmt(p.drainMs / 1000)} s`,
    `  seq gaps             ${p.seq.gaps} gaps (${p.seq.missing} seqs missing) on ${p.seq.devicesWithGaps} devices, ${p.seq.backwards} pushes not increasing${p.seq.explained ? ` (${p.seq.explained} more skipped seqs = the sender's own unanswered sends)` : ""}${p.seq.samples.length ? `; e.g. ${p.seq.samples.join(", ")}` : ""}`,
    `  cpu                  node ${fmt(p.cpu.nodePercent, 0)}%  workerd ${fmt(p.cpu.workerdPercent, 0)}% (of one core), workerd RSS ${fmt(p.workerdRssMB, 0)} MB; client event loop delay p99 ${fmt(p.loop.p99)} ms max ${fmt(p.loop.max)} ms`,
    `  machine              load average (1 min) ${fmt(p.load, 2)} at the end; other busy processes: ${p.others.length ? p.others.join(", ") : "none"}`,
    ...timelineLines(p),
  ];
  if (p.backlog) {
    lines.push(`  backlog              slope ${fmt(p.backlog.slope, 0)} deliveries/s over the second half (offered ${fmt(p.backlog.offered, 0)}/s); at the last send ${p.backlog.atEnd}, max ${p.backlog.max}`);
  }
  if (p.errorSamples.size) {
    lines.push(`  error samples        ${[...p.errorSamples].slice(0, 5).map(([k, v]) => `${v}x ${k}`).join("; ")}`);
  }
  return lines;
}

/** Deliveries per slot of the phase and its longest pause (sets p.timeline, p.longestPauseS). */
function timelineLines(p) {
  const lines = [];
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
  return lines;
}

/** The JSON figures of a finished phase (after phaseLines). */
export function phaseSummary(p) {
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

/** Prints a finished phase's lines and records its summary in the results. */
export function reportPhase(st, p) {
  phaseLines(st, p).forEach((l) => console.log(l));
  st.results.phases.push(phaseSummary(p));
}

/** Deliveries of every phase that were missing when it ended, arrived later, or never came. */
export function printFinalAccounting(st) {
  console.log(`\n--- final accounting per phase (deliveries to online members)`);
  const phasesByName = new Map();
  for (const r of st.records) {
    phasesByName.set(r.phase, true);
  }
  for (const p of phasesByName.keys()) {
    const missingNow = expectedOf(p) - receivedOf(p);
    console.log(`  ${p.name.padEnd(20)} missing when the phase ended ${String(p.lost).padEnd(7)} arrived later ${String(p.late).padEnd(7)} never arrived ${missingNow}`);
    const summary = st.results.phases.find((x) => x.name === p.name);
    if (summary) {
      summary.arrivedLater = p.late;
      summary.neverArrived = missingNow;
    }
  }
}

/** Targets of the issue, from this run's figures. */
export function printTargets(st) {
  const { results } = st;
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
}

/** The run's socket figures (also into the results). */
export function printRun(st) {
  const { results, members } = st;
  results.unknownPushes = st.unknownPushes;
  results.unexpectedCloses = st.unexpectedCloses;
  results.stillOpen = members.filter((d) => d.sock && !d.sock.closed).length;
  console.log(`\n--- run`);
  console.log(`  sockets still open ${results.stillOpen}/${st.M}; unexpected closes ${st.unexpectedCloses}; unknown pushes ${st.unknownPushes}`);
}
