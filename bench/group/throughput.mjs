// Throughput phase of bench/group.mjs: group sends at a fixed offered rate (open loop, several
// senders), whether the run held, and `--find-max`, which steps the rate up.
import { fmt, log, now, sleep } from "../lib.mjs";
import { finishPhase, phaseTools } from "./measure.mjs";
import { reportPhase } from "./report.mjs";
import { expectedOf, newPhase, receivedOf } from "./state.mjs";
import { sendGroup } from "./traffic.mjs";
import { drain, settle } from "./waits.mjs";

/** --senders member indexes spread evenly over the members (they send round robin). */
export function senderSet(st) {
  const { M } = st;
  const n = Math.min(st.opts.senders, M);
  return Array.from({ length: n }, (_, i) => Math.floor((i * M) / n + M / (2 * n)) % M);
}

/** Open loop: every 5 ms, sends what is due for `rate` msg/s; never waits for replies. */
export async function loadPhase(st, name, rate, seconds) {
  const { opts } = st;
  const EXPECTED = st.expected;
  log(`${name}: ${rate} group msg/s for ${seconds} s (${fmt(rate * EXPECTED, 0)} deliveries/s offered)`);
  const { meter, loopDelay } = phaseTools(st);
  const p = newPhase(st, name, { rate });
  const senders = senderSet(st);
  const total = Math.round(rate * seconds);
  const samples = await offer(st, p, { name, rate, seconds, total, senders });
  p.backlog = backlogTrend(samples, { rate, seconds, EXPECTED });
  await drain(st, p, opts.drain, opts.late);
  await finishPhase(st, p, meter, loopDelay);
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
  reportPhase(st, p);
  console.log(
    `  => ${p.held ? "HELD" : "NOT HELD"} (zero loss/duplicates/errors/gaps, all delivered within ${opts.drain} s of the last send, backlog not growing: slope <= ${fmt(p.backlog.limit, 0)}/s, i.e. 5% of offered or one message per half run)`,
  );
  return p;
}

/**
 * Sends `total` messages at `rate`/s from `senders` (a send is skipped while too many replies
 * are outstanding). Resolves the backlog samples: [seconds since start, deliveries owed].
 */
async function offer(st, p, { name, rate, seconds, total, senders }) {
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
        sendGroup(st, p, senders[sent % senders.length]);
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
  return samples;
}

/** Backlog (deliveries owed) over the second half of the sending: least-squares slope. */
function backlogTrend(samples, { rate, seconds, EXPECTED }) {
  const half = samples.filter(([t]) => t >= seconds / 2);
  let slope = NaN;
  if (half.length >= 3) {
    const mx = half.reduce((s, [t]) => s + t, 0) / half.length;
    const my = half.reduce((s, [, y]) => s + y, 0) / half.length;
    const sxy = half.reduce((s, [t, y]) => s + (t - mx) * (y - my), 0);
    const sxx = half.reduce((s, [t]) => s + (t - mx) ** 2, 0);
    slope = sxx > 0 ? sxy / sxx : NaN;
  }
  const backlog = { slope, offered: rate * EXPECTED, atEnd: samples.at(-1)[1], max: Math.max(...samples.map(([, y]) => y)) };
  // Not growing: the backlog's trend over the second half of the sending is at most 5 % of the
  // offered deliveries/s, or at most one message's deliveries over that half (at low rates the
  // backlog is a saw tooth of whole messages, which makes the slope noisy).
  backlog.limit = Math.max(0.05 * rate * EXPECTED, EXPECTED / (seconds / 2));
  backlog.notGrowing = Number.isFinite(slope) && slope <= backlog.limit;
  return backlog;
}

/** Steps the rate up (--steps, --step-seconds) until a step is not held; prints the table. */
export async function findMax(st) {
  const { opts } = st;
  const EXPECTED = st.expected;
  const steps = [];
  let best = null;
  for (const rate of st.steps) {
    await settle(st, `find-max ${rate}/s`);
    const p = await loadPhase(st, `find-max ${rate}/s`, rate, opts["step-seconds"]);
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
  st.results.findMax = { best: best ? { rate: best.rate, deliveriesPerSecond: best.deliveriesPerSecond } : null };
}
