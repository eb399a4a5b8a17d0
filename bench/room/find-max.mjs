// `--find-max` of bench/room.mjs: steps the rate up until a step is not held (or halves it down
// from the first step until one is), then prints the steps and the highest one held.
import { waitForQuietOthers } from "./machine.mjs";
import { runRoomPhase, waitServerQuiet } from "./phase.mjs";
import { printFindMax } from "./report.mjs";

/** Runs the find-max steps; sets st.results.findMax. */
export async function findMax(st) {
  const { opts } = st;
  const steps = [];
  let best = null;
  const step = async (rate) => {
    await waitForQuietOthers(st, `step ${rate}`);
    const r = await runRoomPhase(st, `step ${rate} msg/s`, rate, opts["step-seconds"]);
    steps.push(r);
    await waitServerQuiet(st, r.name);
    return r;
  };
  for (const rate of st.steps) {
    const r = await step(rate);
    if (!r.held) {
      break;
    }
    best = r;
  }
  if (!best && steps.length) {
    for (let rate = st.steps[0] / 2; rate >= 0.5 && !best; rate /= 2) {
      const r = await step(rate);
      if (r.held) {
        best = r;
      }
    }
  }
  st.results.findMax = {
    best: best ? { rate: best.offeredRate, deliveriesPerSecond: best.deliveriesPerSecond, p99: best.latency.p99 } : null,
    steps: steps.map((s) => ({ rate: s.offeredRate, deliveriesPerSecond: s.deliveriesPerSecond, p50: s.latency.p50, p99: s.latency.p99, max: s.latency.max, lost: s.lost, held: s.held, otherPercent: s.cpu.otherPercent })),
  };
  printFindMax(st, steps, best);
}
