// Two scenarios beside the 1:1 load:
//   sync  one user receives --messages (10,000) messages while its device is offline, then that
//         device connects and pages PT_SYNC from seq 0 (limit 500) until has_more is false:
//         time from connect to having all of them, checked to be seqs 1..N in send order.
//   idle  --connections (10,000) idle WebSockets (--users x --devices); RSS of the workerd
//         process(es) before and after, per connection; every socket answers a PT_HEARTBEAT.
//
//   node bench/sync-and-idle.mjs --scenario sync|idle|both [options]
//
// The scenarios live in bench/sync-and-idle/ (sync.mjs, idle.mjs).
import { log, openServer, parseArgs } from "./lib.mjs";
import { idleScenario } from "./sync-and-idle/idle.mjs";
import { syncScenario } from "./sync-and-idle/sync.mjs";

const USAGE = `usage: node bench/sync-and-idle.mjs [options]
  --scenario S         sync | idle | both (default both)
  --url URL            use a running server on 127.0.0.1 (default: start one in-process, fresh state;
                       the idle scenario needs in-process to read workerd's memory)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir)
  sync:
  --messages N         messages to the offline user (default 10000)
  --send-via ws|http   send over a WebSocket (PT_SEND_MESSAGE) or POST /pb.LogicExt/SendMessage (default ws)
  --send-concurrency N sends in flight while filling the inbox (default 64)
  --limit N            sync page size (default 500)
  idle:
  --connections N      idle WebSockets to open (default 10000)
  --devices N          devices per user (default 2; users = connections / devices)
  --setup-concurrency N  RegisterDevice/SignIn calls in flight (default 16)
  --open-concurrency N   WebSocket upgrades in flight (default 64)
  --hold S             seconds to hold the idle sockets open, pinging every --ping-every s (default 60)
  --ping-every S       text "ping" on every socket this often (default 30)
  --deflate            offer permessage-deflate on every socket, as browsers do (the server declines it)
  --json               also print the results as one JSON line`;

const opts = parseArgs(
  {
    scenario: "both",
    url: "",
    tmp: "",
    messages: 10_000,
    "send-via": "ws",
    "send-concurrency": 64,
    limit: 500,
    connections: 10_000,
    devices: 2,
    "setup-concurrency": 16,
    "open-concurrency": 64,
    hold: 60,
    "ping-every": 30,
    deflate: false,
    json: false,
  },
  process.argv.slice(2),
  USAGE,
);
if (!["sync", "idle", "both"].includes(opts.scenario)) {
  throw new Error("--scenario must be sync, idle or both");
}
if (opts.messages < 1 || opts.messages > 1_000_000 || opts.connections < 1 || opts.hold > 3600) {
  throw new Error("--messages must be 1..1000000, --connections >= 1, --hold <= 3600");
}

const results = {};

// ---------------------------------------------------------------- main

async function main() {
  const server = await openServer(opts.url, { tmpBase: opts.tmp });
  let code = 0;
  try {
    log(`server ${server.url}${server.inProcess ? ` (in-process, state ${server.stateDir})` : ""}`);
    if (opts.scenario === "sync" || opts.scenario === "both") {
      results.sync = await syncScenario(server, opts);
    }
    if (opts.scenario === "idle" || opts.scenario === "both") {
      results.idle = await idleScenario(server, opts);
    }
    if (opts.json) {
      console.log(JSON.stringify({ options: opts, results }));
    }
  } catch (err) {
    console.error(err);
    code = 1;
  } finally {
    await server.stop();
  }
  return code;
}

const guard = setTimeout(() => {
  console.error("benchmark did not finish within its overall time limit; exiting");
  process.exit(2);
}, 3 * 3600 * 1000);
guard.unref();
process.exit(await main());
