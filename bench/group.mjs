// Group chat benchmark: M users (one device each) on WebSockets in one group, plus one extra
// member that stays offline.
//   1. latency     --messages group messages one at a time from varying senders; per message the
//                  time until the LAST other member device has it (fan-out time), per delivery
//                  latency, lost deliveries.
//   2. throughput  group sends at a fixed offered rate (open loop, several senders): deliveries/s
//                  counted at the receivers, fan-out time per message, loss, duplicates, seq gaps
//                  per device; `--find-max` steps the rate up.
//   3. offline     the extra member's inbox gets --offline-messages group messages while it has no
//                  socket; then it connects and pages PT_SYNC from seq 0: time to have them all,
//                  checked for missing, repeated and out-of-order messages.
//
//   node bench/group.mjs [--members 1000] [--messages 20] [--rate 4] [--seconds 20] [--find-max]
//
// The parts live in bench/group/: options, state (shared by every part, passed around), setup,
// traffic (send, pushes), waits, checks, measure, report, and one file per phase.
import { rmSync } from "node:fs";
import { log, sleep } from "./lib.mjs";
import { latencyPhase } from "./group/latency.mjs";
import { offlinePhase } from "./group/offline.mjs";
import { parseOptions } from "./group/options.mjs";
import { printFinalAccounting, printRun, printTargets } from "./group/report.mjs";
import { cleanup, createGroup, createMembers, openSockets, startServer } from "./group/setup.mjs";
import { createState } from "./group/state.mjs";
import { findMax, loadPhase } from "./group/throughput.mjs";
import { settle } from "./group/waits.mjs";

const st = createState(parseOptions());
const { opts, skip } = st;

async function main() {
  await startServer(st);

  // ---- users: M online + 1 extra (offline)
  const users = await createMembers(st);
  const extra = users.at(-1).devices[0];

  // ---- sockets (opened before the group exists, so the creation notice is pushed to all)
  const keepAlive = await openSockets(st);

  // ---- the group
  await createGroup(st, users);
  // Seqs before the phases (the notice) are checked with the first phase.

  if (!skip.has("latency")) {
    await settle(st, "latency");
    await latencyPhase(st);
    await sleep(1000);
  }
  if (!skip.has("throughput")) {
    await settle(st, "throughput");
    await loadPhase(st, "throughput", opts.rate, opts.seconds);
    await sleep(2000);
    if (opts["find-max"]) {
      await findMax(st);
      await sleep(2000);
    }
  }
  if (!skip.has("offline") && opts["offline-messages"] > 0) {
    await settle(st, "offline");
    await offlinePhase(st, extra);
  }

  printFinalAccounting(st);
  printTargets(st);
  printRun(st);
  clearInterval(keepAlive);
}

const watchdog = setTimeout(() => {
  log(`the run did not finish within --max-minutes ${opts["max-minutes"]}; exiting`);
  cleanup(st).finally(() => process.exit(2));
}, opts["max-minutes"] * 60_000);
watchdog.unref();

// Miniflare ends the process on SIGINT itself: the state dir goes in any case.
process.on("exit", () => {
  if (st.stateDir) {
    rmSync(st.stateDir, { recursive: true, force: true });
  }
});

process.on("SIGINT", () => {
  log("interrupted");
  cleanup(st).finally(() => process.exit(130));
});

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await cleanup(st);
}
if (opts.json) {
  console.log(JSON.stringify(st.results));
}
process.exit(exitCode);
