// Benchmark of the TCP relay (tcp-relay/): the same 1:1 scenario over gim TCP through the relay
// and over direct WebSockets to the Worker, side by side; then N idle TCP connections held
// through one relay process and the relay's memory per connection.
//
//   node bench/relay.mjs [--rate 800] [--seconds 20] [--users 50] [--idle 5000] [--relay inline|child]
//
// Everything runs on 127.0.0.1: the local stack (scripts/local-server.mjs) in this process with a
// fresh state dir, the relay in this process (--relay inline, default) or in a child process
// (--relay child; the idle part always uses a child, to read the relay's own RSS). Every wait has
// a deadline. Progress on stderr, results on stdout; --json adds one JSON line.
//
// The parts live in bench/relay/: options, users (setup calls), conn (WebSocket or TCP device
// connection), load (the 1:1 runs), cpu, child (the relay child process), idle, report.
import { cpus, totalmem } from "node:os";
import { loadRelay } from "../tcp-relay/build.mjs";
import { openServer, workerdPids } from "./lib.mjs";
import { startRelayChild } from "./relay/child.mjs";
import { Conn } from "./relay/conn.mjs";
import { runIdle } from "./relay/idle.mjs";
import { makeGroup, runLoad } from "./relay/load.mjs";
import { parseOptions } from "./relay/options.mjs";
import { printComparison, printIdle, printLoad } from "./relay/report.mjs";
import { createUsers } from "./relay/users.mjs";

const opts = parseOptions();
const server = await openServer("", { tmpBase: opts.tmp, prefix: "gim-bench-relay-" });
const baseUrl = server.url;
const relayModule = await loadRelay();
/** The run's state, passed to every part: relayChild is the relay child process while one runs. */
const st = {
  opts,
  workerdPids: workerdPids(),
  relayChild: null,
  results: { machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: totalmem() / 1024 ** 3, node: process.version }, opts, load: [], paired: [], idle: null },
};
const { results } = st;

/** The sequential runs (--order), then the paired ones (--paired), then the comparisons. */
async function runLoads() {
  let inline = null;
  if (opts.relay === "child") {
    st.relayChild = await startRelayChild(baseUrl);
  } else {
    inline = await relayModule.startRelay({ workerUrl: baseUrl, host: "127.0.0.1", tcp: [{ port: 0, framing: "u16" }], wsPort: null, grpcPort: null, metricsPort: null, logLevel: "warn", connectionsPerIp: 0, failedSignInsPerIp: 0 });
  }
  const relayPort = inline ? inline.ports.tcp[0] : st.relayChild.ports.tcp[0];
  const openFor = (transport) => (transport === "relay" ? (d, onOutput) => Conn.tcp(relayPort, d, onOutput, relayModule) : (d, onOutput) => Conn.direct(baseUrl, d, onOutput));
  for (const [round, transport] of opts.order.split(",").entries()) {
    const users = await createUsers(baseUrl, opts.users, opts.devices, String(round));
    const [result] = await runLoad(st, [makeGroup(transport, users, openFor(transport))]);
    results.load.push(result);
    printLoad(st, result);
  }
  for (let round = 0; round < opts.paired; round++) {
    const groups = [];
    for (const transport of round % 2 ? ["relay", "direct"] : ["direct", "relay"]) {
      const group = makeGroup(transport, await createUsers(baseUrl, opts.users, opts.devices, `${5 + round}${groups.length}`), openFor(transport));
      group.paired = true;
      groups.push(group);
    }
    for (const result of await runLoad(st, groups)) {
      results.paired.push(result);
      printLoad(st, result);
    }
  }
  await inline?.stop();
  await st.relayChild?.stop();
  st.relayChild = null;
  printComparison(st, results.load, "sequential runs (median of each transport's runs)");
  printComparison(st, results.paired, "paired runs (both transports at once, half the rate each)");
}

try {
  if (!opts["skip-load"]) {
    await runLoads();
  }
  if (opts.idle > 0) {
    results.idle = await runIdle(st, baseUrl, relayModule);
    printIdle(st, results.idle);
  }
} finally {
  await st.relayChild?.stop();
  await server.stop();
}
if (opts.json) {
  console.log(JSON.stringify(results));
}
