// Output of bench/room.mjs: a room phase's result lines, the find-max table, the order figures
// of the whole run and the target line.
import { fmt } from "../lib.mjs";
import { DELIVERIES_FLOOR } from "./options.mjs";

/** Prints the result lines of room phase result `r`. */
export function printPhase(st, r) {
  const { opts, N } = st;
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

/** Prints the find-max steps and the highest one held (`best`, or null). */
export function printFindMax(st, steps, best) {
  const { opts, N } = st;
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

/** Prints the room sockets' order figures over the whole run and the fixed-rate run's target. */
export function printOrderAndTarget(st) {
  const { results, closeCodes } = st;
  results.order = { orderViolations: st.orderViolations, seqGaps: st.seqGaps, unknownFrames: st.unknownFrames, unexpectedCloses: st.unexpectedCloses, closeCodes: Object.fromEntries(closeCodes) };
  console.log(
    `room sockets over the whole run: order violations ${st.orderViolations}, seq gaps ${st.seqGaps}, unknown frames ${st.unknownFrames}, closed by the server ${st.unexpectedCloses}${closeCodes.size ? ` (${[...closeCodes].map(([k, v]) => `${v}x ${k}`).join(", ")})` : ""}`,
  );
  const load = results.phases.find((r) => r.name === "load");
  console.log(
    `target: >= ${DELIVERIES_FLOOR} deliveries/s with p99 < 500 ms and zero loss -> fixed-rate run (offered ${load.offeredDeliveriesPerSecond}/s): ${fmt(load.deliveriesPerSecond, 0)} deliveries/s, p99 ${fmt(load.latency.p99)} ms, lost ${load.lost}: ${load.deliveriesPerSecond >= DELIVERIES_FLOOR && load.latency.p99 < 500 && load.lost === 0 ? "MET" : "NOT MET"}`,
  );
}
