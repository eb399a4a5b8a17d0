// Figures of bench/group.mjs taken around a phase: CPU and event-loop meters, the phase's
// statistics once it ends, other busy processes, and the code version measured.
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { cpuMeter, otherBusyProcesses, rssBytes, summarize } from "../lib.mjs";
import { seqCheck } from "./checks.mjs";
import { expectedOf, receivedOf } from "./state.mjs";

/** Starts the meters of a phase: CPU of node and workerd, and the client's event-loop delay. */
export function phaseTools(st) {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  return { meter: cpuMeter(st.workerdPids), loopDelay };
}

/** After a phase's drain: its seq check, loss, fan-out and latency statistics, rates, CPU. */
export async function finishPhase(st, p, meter, loopDelay) {
  seqCheck(st, p);
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
  p.workerdRssMB = rssBytes(st.workerdPids) / 1e6;
  p.load = loadavg()[0];
  p.others = await othersNow(st);
}

/** Other processes using >= 10% of a core over one second (this benchmark shares 2 cores with them). */
export async function othersNow(st) {
  const { busy } = await otherBusyProcesses(new Set([process.pid, ...st.workerdPids]), 1_000);
  return busy.map((o) => `${o.comm}(${o.pid}) ${o.percent.toFixed(0)}%`);
}

/** The commit of the working tree and how many files differ from it (read-only git calls). */
export function codeVersion() {
  const root = new URL("../..", import.meta.url).pathname;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", timeout: 10_000 }).trim();
    const changed = execFileSync("git", ["--no-optional-locks", "status", "--porcelain"], { cwd: root, encoding: "utf8", timeout: 10_000 }).split("\n").filter(Boolean).length;
    return `git ${head}, ${changed} changed or untracked paths`;
  } catch {
    return "git: unknown";
  }
}
