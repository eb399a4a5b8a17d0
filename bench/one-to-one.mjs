// Benchmark of the core 1:1 path: N users x 2 devices on WebSockets, messages sent at a fixed
// offered rate (open loop) from random devices to random other users; every delivery
// (receiver's devices + sender's other devices) timed end to end, checked for loss, duplicates
// and seq gaps. `--find-max` steps the rate up and prints the highest rate held.
//
//   node bench/one-to-one.mjs [--rate 800] [--seconds 20] [--users 50] [--find-max] [--url http://127.0.0.1:8787]
//
// The parts live in bench/one-to-one/: options, state (shared by every part, passed around),
// setup (devices and sockets), traffic (sends and pushes), phase, steps (warm-up, --find-max),
// verify (end-of-run seq checks), report.
import { createUsers, diskSyncLatency, fmt, log, now, openServer, workerdPids } from "./lib.mjs";
import { parseOptions } from "./one-to-one/options.mjs";
import { runPhase } from "./one-to-one/phase.mjs";
import { printResult } from "./one-to-one/report.mjs";
import { openDevices, startAcks } from "./one-to-one/setup.mjs";
import { createState } from "./one-to-one/state.mjs";
import { findMax, warmUp } from "./one-to-one/steps.mjs";
import { verifySeqs } from "./one-to-one/verify.mjs";

const st = createState(parseOptions());
const { opts } = st;

async function main() {
  const server = await openServer(opts.url, { tmpBase: opts.tmp });
  const results = [];
  let exitCode = 0;
  try {
    const pids = server.inProcess ? workerdPids() : [];
    log(`server ${server.url}${server.inProcess ? ` (in-process, workerd pid ${pids.join(",")}, state ${server.stateDir})` : ""}`);
    const t0 = now();
    const users = await createUsers(server.url, opts.users, opts.devices, opts.concurrency);
    log(`${opts.users} users x ${opts.devices} devices signed in (${fmt((now() - t0) / 1000)} s)`);
    await openDevices(st, server.url, users);
    const ackTimer = startAcks(st);

    // The disk's synchronous-write speed around the run: on-disk latency follows it.
    const disk = { before: server.stateDir ? diskSyncLatency(server.stateDir) : null, after: null };
    if (disk.before) {
      log(`disk: 4 KiB write + fsync p50 ${fmt(disk.before.p50, 2)} ms, p99 ${fmt(disk.before.p99, 2)} ms (${server.stateDir})`);
    }
    await warmUp(st, pids);

    if (!opts["find-max"]) {
      const r = await runPhase(st, "load", opts.rate, opts.seconds, pids);
      results.push(r);
      printResult(r);
    } else {
      await findMax(st, pids, results);
    }
    if (ackTimer) {
      clearInterval(ackTimer);
    }
    if (server.stateDir) {
      disk.after = diskSyncLatency(server.stateDir);
      console.log(
        `disk (4 KiB write + fsync in the state folder): before p50 ${fmt(disk.before.p50, 2)} ms p99 ${fmt(disk.before.p99, 2)} ms; after p50 ${fmt(disk.after.p50, 2)} ms p99 ${fmt(disk.after.p99, 2)} ms`,
      );
    }

    const { seq, storedNotPushed } = await verifySeqs(st);
    if (opts.json) {
      console.log(JSON.stringify({ options: opts, results, disk, seqCheck: { ...seq, storedNotPushed, unexpectedCloses: st.unexpectedCloses } }));
    }
  } catch (err) {
    console.error(err);
    exitCode = 1;
  } finally {
    st.closing = true;
    await Promise.all(st.devices.map((dev) => dev.sock?.close(2_000).catch(() => {})));
    await server.stop();
  }
  return exitCode;
}

const guard = setTimeout(() => {
  console.error("benchmark did not finish within its overall time limit; exiting");
  process.exit(2);
}, 3 * 3600 * 1000);
guard.unref();
const code = await main();
process.exit(code);
