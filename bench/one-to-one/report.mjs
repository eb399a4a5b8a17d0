// Output of bench/one-to-one.mjs: a phase's result lines and the --find-max table.
import { fmt } from "../lib.mjs";

/** Prints the result lines of phase result `r`. */
export function printResult(r) {
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

/** Prints the highest rate held and the table of --find-max steps. */
export function printFindMax(st, results, best) {
  const { opts } = st;
  console.log(`\nhighest rate held: ${best ? `${best} msg/s` : "none"} (steps of ${opts["step-seconds"]} s; p99 < ${opts.p99} ms, zero loss)`);
  console.log("rate     achieved  deliv/s   p50     p95     p99     max     lost  dup  err  held");
  for (const r of results) {
    const l = r.latencyMs;
    console.log(
      `${String(r.offeredRate).padEnd(8)} ${fmt(r.achievedSendRate).padEnd(9)} ${fmt(r.deliveriesPerSecond).padEnd(9)} ${fmt(l.p50).padEnd(7)} ${fmt(l.p95).padEnd(7)} ${fmt(l.p99).padEnd(7)} ${fmt(l.max).padEnd(7)} ${String(r.lost).padEnd(5)} ${String(r.duplicated).padEnd(4)} ${String(r.errors + r.noReply).padEnd(4)} ${r.held ? "yes" : "no"}`,
    );
  }
}
