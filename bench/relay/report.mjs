// Output of bench/relay.mjs: one run's lines, the relay / direct comparison against the targets,
// and the idle part's memory per connection.
import { fmt } from "../lib.mjs";

/** The lines of one transport's run. */
export function printLoad(st, r) {
  const { opts } = st;
  const paired = r.paired ? ` (paired: the other transport ran at the same time, ${opts.rate} msg/s in total)` : "";
  console.log(`--- ${r.transport}: offered ${r.offeredRate} msg/s for ${opts.seconds} s, ${opts.users} users x ${opts.devices} devices${paired}`);
  console.log(`  sent              ${r.sent} (${fmt(r.achievedRate)} msg/s achieved)`);
  console.log(`  delivered         ${fmt(r.deliveredPerSecond)} messages/s fully delivered, ${fmt(r.deliveriesPerSecond)} deliveries/s (${r.deliveries}/${r.expected})`);
  console.log(`  latency           p50 ${fmt(r.latency.p50)} ms  p95 ${fmt(r.latency.p95)} ms  p99 ${fmt(r.latency.p99)} ms  max ${fmt(r.latency.max)} ms`);
  console.log(`  lost ${r.lost} (within ${opts.drain} s of the end; ${r.late} arrived later, ${r.never} never)  duplicated ${r.duplicates}  errors ${r.errors}  unknown ${r.unknown}`);
  const relayCpu = r.cpu.relayChildPercent === null ? "" : `  relay child ${fmt(r.cpu.relayChildPercent)}%`;
  console.log(`  cpu               node ${fmt(r.cpu.nodePercent)}%  workerd ${fmt(r.cpu.workerdPercent)}%${relayCpu}  other processes ${fmt(r.cpu.otherPercent)}% (of one core); client loop delay p99 ${fmt(r.loopDelayP99)} ms`);
}

/** Relay / direct medians of `load` against the targets (p50 <= +30 %, throughput >= 80 %). */
export function printComparison(st, load, title) {
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
  (st.results.comparison ??= {})[title.split(" ")[0]] = { p50Ratio, throughputRatio: tputRatio };
}

/** The idle part's lines. */
export function printIdle(st, r) {
  console.log(`--- idle: ${r.connections} signed-in TCP connections through one relay process (held ${st.opts.hold} s)`);
  console.log(`  opened            in ${fmt(r.openSeconds)} s; still open after the hold: ${r.stillOpen}`);
  console.log(`  relay RSS         ${fmt(r.rssBeforeMB)} MB before, ${fmt(r.rssAfterOpenMB)} MB after opening, ${fmt(r.rssAfterHoldMB)} MB after the hold (V8 heap used ${fmt(r.heapUsedMB)} MB)`);
  console.log(`  per connection    ${fmt(r.perConnectionKB)} KiB after opening, ${fmt(r.perConnectionAfterHoldKB)} KiB after the hold (target < 64 KiB) ${Math.max(r.perConnectionKB, r.perConnectionAfterHoldKB) < 64 ? "MET" : "MISSED"}`);
}
