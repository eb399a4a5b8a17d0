// The phases of bench/one-to-one.mjs around the load: the warm-up (not counted) and --find-max,
// which steps the rate up until a step is not held.
import { sleep, waitFor } from "../lib.mjs";
import { held, runPhase } from "./phase.mjs";
import { printFindMax, printResult } from "./report.mjs";
import { allPairs } from "./traffic.mjs";

/** --warmup: "pairs" (one message per ordered user pair at half the rate) or S seconds of random messages. */
export async function warmUp(st, pids) {
  const { opts, userIds } = st;
  if (opts.warmup === "pairs") {
    // One message per ordered pair of users: each inbox has looked every peer up once.
    const n = userIds.length * (userIds.length - 1);
    const rate = Math.max(1, Math.round(opts.rate / 2));
    const warm = await runPhase(st, `warm-up (not counted): ${n} messages, one per ordered user pair`, rate, Math.ceil(n / rate) + 1, pids, allPairs(st));
    printResult(warm);
    await sleep(2000);
  } else if (Number(opts.warmup) > 0) {
    const warm = await runPhase(st, "warm-up (not counted)", Math.max(1, Math.round(opts.rate / 4)), Number(opts.warmup), pids);
    printResult(warm);
    await sleep(2000);
  }
}

/** --find-max: runs the steps (results pushed to `results`) and prints the table. */
export async function findMax(st, pids, results) {
  const { opts } = st;
  const steps = opts.steps.split(",").map(Number).filter((n) => n > 0).slice(0, 30);
  let best = 0;
  // Up the steps until one is not held; if the first is not held, halve down to find one that is.
  const queue = [...steps];
  let down = false;
  while (queue.length) {
    const rate = queue.shift();
    const r = await runPhase(st, `step ${rate}`, rate, opts["step-seconds"], pids);
    r.held = held(st, r);
    results.push(r);
    printResult(r);
    console.log(`  => ${r.held ? "HELD" : "NOT HELD"} (p99 < ${opts.p99} ms, zero loss/errors, achieved >= 97% of offered)`);
    // Let a backlog left by a step that was not held clear before the next one.
    await waitFor(() => st.devices.every((d) => d.sock.pending.size === 0), 120_000, 200);
    await sleep(2000);
    if (r.held) {
      best = rate;
      if (down) {
        break;
      }
    } else if (best === 0 && rate > 25) {
      down = true;
      queue.length = 0;
      queue.push(Math.floor(rate / 2));
    } else {
      break;
    }
  }
  printFindMax(st, results, best);
}
