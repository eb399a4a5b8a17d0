// CPU of bench/relay.mjs's processes over a run: this node process, workerd, a relay child, and
// everything else on the machine, in % of one core.
import { cpuSeconds, machineBusySeconds, now } from "../lib.mjs";

/**
 * A CPU sample; with `start` (an earlier sample), the use since then. The workerd pids are
 * st.workerdPids; the relay child is st.relayChild (while one runs).
 */
export function cpuNow(st, start) {
  const { relayChild } = st;
  const sample = { at: now(), self: process.cpuUsage(), workerd: cpuSeconds(st.workerdPids), relay: relayChild ? cpuSeconds([relayChild.pid]) : 0, machine: machineBusySeconds() };
  if (!start) {
    return sample;
  }
  const wall = (sample.at - start.at) / 1000;
  const self = process.cpuUsage(start.self);
  const ours = (self.user + self.system) / 1e6 + (sample.workerd - start.workerd) + (sample.relay - start.relay);
  return {
    nodePercent: ((self.user + self.system) / 1e6 / wall) * 100,
    workerdPercent: ((sample.workerd - start.workerd) / wall) * 100,
    relayChildPercent: relayChild ? ((sample.relay - start.relay) / wall) * 100 : null,
    /** Everything else on the machine (other people's processes), % of one core. */
    otherPercent: Math.max(0, ((sample.machine - start.machine - ours) / wall) * 100),
  };
}
