// Machine figures of bench/room.mjs: other busy processes, CPU per workerd thread, and the
// waits for a quiet machine before starting and before each measured phase.
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { cpuMeter, fmt, log, now, otherBusyProcesses, sleep } from "../lib.mjs";

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim().slice(0, 80);
  } catch {
    return "?";
  }
}

/** Processes other than this one and its workerd that used >= 10 % of a core over `ms`. */
export async function othersNow(st, ms = 3_000) {
  const { percent, busy } = await otherBusyProcesses(new Set([process.pid, ...st.workerdPids]), ms);
  return { percent, busy: busy.map((o) => `${cmdline(o.pid)} (${o.percent.toFixed(0)}%)`) };
}

/** CPU ticks per thread of the given processes (workerd runs every object's JS on one thread). */
function threadTicks(pids) {
  const ticks = new Map();
  for (const pid of pids) {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks.set(`${pid}/${tid}`, Number(fields[11]) + Number(fields[12]));
      } catch {
        // thread gone
      }
    }
  }
  return ticks;
}

/** Like cpuMeter, plus the busiest workerd thread (% of one core). */
export function cpuMeterThreads(pids) {
  const meter = cpuMeter(pids);
  const t0 = now();
  const before = threadTicks(pids);
  return () => {
    const r = meter();
    const wall = (now() - t0) / 1000;
    let busiest = 0;
    for (const [tid, ticks] of threadTicks(pids)) {
      busiest = Math.max(busiest, ((ticks - (before.get(tid) ?? 0)) / 100 / wall) * 100);
    }
    r.workerdBusiestThreadPercent = busiest;
    return r;
  };
}

/** Waits (bounded) while the 1-min load average is above --max-load. */
export async function waitForQuietMachine(st, label) {
  const { opts } = st;
  const deadline = now() + opts["load-wait"] * 60_000;
  let load = loadavg()[0];
  while (load > opts["max-load"] && now() < deadline) {
    log(`${label}: load average ${fmt(load, 2)} > ${opts["max-load"]}; waiting (at most ${fmt((deadline - now()) / 60_000)} min more)`);
    await sleep(Math.min(30_000, Math.max(1_000, deadline - now())));
    load = loadavg()[0];
  }
  if (load > opts["max-load"]) {
    log(`${label}: load average still ${fmt(load, 2)}; going on anyway`);
  }
  return load;
}

/**
 * Waits while other processes (not this one, not its workerd) use more than half a core, at
 * most 5 min per phase and within the --load-wait budget; resolves the share last measured.
 */
export async function waitForQuietOthers(st, label) {
  const deadline = Math.min(st.quietBudgetEnd, now() + 5 * 60_000);
  for (;;) {
    const o = await othersNow(st, 5_000);
    if (o.percent <= 50 || now() >= deadline) {
      log(`${label}: other processes use ${fmt(o.percent, 0)}% of a core${o.busy.length ? `: ${o.busy.join(", ")}` : ""}${o.percent > 50 ? " (going on anyway)" : ""}`);
      return o.percent;
    }
    log(`${label}: other processes use ${fmt(o.percent, 0)}% of a core (${o.busy.join(", ")}); waiting (at most ${fmt((deadline - now()) / 60_000)} min more)`);
    await sleep(10_000);
  }
}
