// Room benchmark: one room with --subscribers room sockets (`/room`, read diffusion through
// ChatRoom + RoomShard objects), one sender pushing at a fixed rate, and push-to-all.
//   1. room       one sender pushes PT_PUSH_ROOM on its user socket (or PushRoom over HTTP) at
//                 --rate messages/s for --seconds; every message is one delivery per subscriber.
//                 Measured at the receivers: deliveries/s, end-to-end latency (send -> receive,
//                 one process clock), fan-out time per message (send -> last subscriber has it),
//                 lost deliveries, duplicates, per-socket order of the room seqs.
//                 `--find-max` then steps the rate up and prints the highest deliveries/s held
//                 (p99 < --p99 ms, nothing lost, duplicated, out of order or failed).
//   2. push-all   the room sockets close; the same devices connect on `/ws` (user sockets) and
//                 `POST /pb.LogicInt/PushAll` is called: time until the last device has the
//                 message, and how many got it.
//
//   node bench/room.mjs [--subscribers 5000] [--rate 5] [--seconds 20] [--find-max]
//
// The parts live in bench/room/: options, state (shared by every part, passed around), setup,
// machine (quiet-machine waits, CPU per thread), sockets (room sockets), send, phase, find-max,
// push-all, report.
import { log, now } from "./lib.mjs";
import { findMax } from "./room/find-max.mjs";
import { waitForQuietOthers } from "./room/machine.mjs";
import { parseOptions } from "./room/options.mjs";
import { runRoomPhase, waitServerQuiet } from "./room/phase.mjs";
import { runPushAll } from "./room/push-all.mjs";
import { printOrderAndTarget } from "./room/report.mjs";
import { checkRoomInfo, cleanup, closeBeforePushAll, createDevices, openRoomSockets, openSender, startServer } from "./room/setup.mjs";
import { createState } from "./room/state.mjs";

const st = createState(parseOptions());
const { opts } = st;

async function main() {
  await startServer(st);
  const devices = await createDevices(st);
  await openRoomSockets(st, devices);
  await checkRoomInfo(st);
  await openSender(st);

  // ---- warm-up (not a measurement): a few messages at 2/s
  await runRoomPhase(st, "warm-up", 2, 3);
  await waitServerQuiet(st, "warm-up");

  // ---- before each measured phase: wait for a quiet machine (other processes, not ours)
  st.quietBudgetEnd = now() + opts["load-wait"] * 60_000;
  st.results.machine.otherPercentBeforeLoad = await waitForQuietOthers(st, "load");

  // ---- fixed-rate run
  await runRoomPhase(st, "load", opts.rate, opts.seconds);
  await waitServerQuiet(st, "load");

  if (opts["find-max"]) {
    await findMax(st);
  }
  printOrderAndTarget(st);

  if (st.PUSH_ALL_N > 0) {
    await closeBeforePushAll(st);
    await runPushAll(st, devices.slice(0, st.PUSH_ALL_N));
  }

  if (opts.json) {
    console.log(JSON.stringify(st.results));
  }
}

const hardLimit = setTimeout(async () => {
  log(`hard limit of ${opts["max-minutes"]} min reached; stopping`);
  await cleanup(st).catch(() => {});
  process.exit(2);
}, opts["max-minutes"] * 60_000);
hardLimit.unref();

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  await cleanup(st);
  clearTimeout(hardLimit);
}
process.exit(exitCode);
