// Figures of the machine a benchmark runs on: the disk's synchronous-write speed, and workerd's
// processes (memory, CPU, open files) next to everything else that is busy.
import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { now, sleep, summarize } from "./util.mjs";

/** What a benchmark prints about the machine it ran on: cores, CPU model, memory, node, load. */
export function machineFacts() {
  return {
    nproc: availableParallelism(),
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    cpu: cpus()[0]?.model ?? "?",
    loadAtStart: loadavg()[0],
  };
}

/**
 * Latency of one synchronous 4 KiB write (write + fsync) in `dir`, repeated for `ms`: the disk's
 * speed when a run starts or ends. Every Durable Object commit ends in an fsync locally, so the
 * on-disk latency figures follow it (docs/benchmarks.md).
 */
export function diskSyncLatency(dir, ms = 1000) {
  const file = join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const page = Buffer.alloc(4096, 1);
  const times = [];
  try {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const start = performance.now();
      writeSync(fd, page, 0, page.length, 0);
      fsyncSync(fd);
      times.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return summarize(times);
}

// ---------------------------------------------------------------- workerd process figures

/** PIDs of every descendant of `rootPid` whose command is workerd. */
export function workerdPids(rootPid = process.pid) {
  let out;
  try {
    out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,comm="], { encoding: "utf8", timeout: 10_000 });
  } catch {
    return [];
  }
  const children = new Map();
  const comm = new Map();
  for (const line of out.split("\n")) {
    const m = line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/);
    if (m) {
      const [pid, ppid] = [Number(m[1]), Number(m[2])];
      comm.set(pid, m[3]);
      if (!children.has(ppid)) {
        children.set(ppid, []);
      }
      children.get(ppid).push(pid);
    }
  }
  const found = [];
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    if (/workerd/.test(comm.get(pid) ?? "")) {
      found.push(pid);
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Sum of RSS (bytes) of the given PIDs, read from /proc. */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
      total += m ? Number(m[1]) * 1024 : 0;
    } catch {
      // process gone
    }
  }
  return total;
}

const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by the given PIDs. */
export function cpuSeconds(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      // process gone
    }
  }
  return total;
}

/** Open file descriptors of the given PIDs (default: this process). */
export function openFds(pids = [process.pid]) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // process gone
    }
  }
  return total;
}

/** CPU seconds all processes of the machine have been busy (from /proc/stat). */
export function machineBusySeconds() {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Measures CPU use of this process, of workerd, and of everything else on the machine (other
 * processes competing for the cores) between the call and the call of the returned function.
 */
export function cpuMeter(pids) {
  const t0 = now();
  const node0 = process.cpuUsage();
  const w0 = cpuSeconds(pids);
  const m0 = machineBusySeconds();
  return () => {
    const wall = (now() - t0) / 1000;
    const node = process.cpuUsage(node0);
    const nodeSeconds = (node.user + node.system) / 1e6;
    const workerdSeconds = pids.length ? cpuSeconds(pids) - w0 : NaN;
    const machineSeconds = machineBusySeconds() - m0;
    return {
      wallSeconds: wall,
      nodePercent: (nodeSeconds / wall) * 100,
      workerdPercent: (workerdSeconds / wall) * 100,
      otherPercent: pids.length ? Math.max(0, ((machineSeconds - nodeSeconds - workerdSeconds) / wall) * 100) : NaN,
    };
  };
}

/** CPU ticks (user + system, 100 per second) of every process, from /proc. */
export function processTicks() {
  const ticks = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      ticks.set(Number(name), { comm, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process is gone
    }
  }
  return ticks;
}

/**
 * The CPU other processes (not the pids in `mine`) used over `ms`, in % of one core: the total,
 * and each process that used at least 10 % as { pid, comm, percent }. A benchmark shares the
 * machine's cores with them.
 */
export async function otherBusyProcesses(mine, ms) {
  const a = processTicks();
  await sleep(ms);
  const b = processTicks();
  const busy = [];
  let percent = 0;
  for (const [pid, { comm, ticks }] of b) {
    const before = a.get(pid);
    if (!before || mine.has(pid)) {
      continue;
    }
    const used = (ticks - before.ticks) / (ms / 1000);
    percent += used;
    if (used >= 10) {
      busy.push({ pid, comm, percent: used });
    }
  }
  return { percent, busy };
}

/** The open-files limit of this shell (`ulimit -n`), NaN if unknown. */
export function ulimitN() {
  try {
    return Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8", timeout: 5_000 }).trim());
  } catch {
    return NaN;
  }
}
