// Two scenarios beside the 1:1 load:
//   sync  one user receives --messages (10,000) messages while its device is offline, then that
//         device connects and pages PT_SYNC from seq 0 (limit 500) until has_more is false:
//         time from connect to having all of them, checked to be seqs 1..N in send order.
//   idle  --connections (10,000) idle WebSockets (--users x --devices); RSS of the workerd
//         process(es) before and after, per connection; every socket answers a PT_HEARTBEAT.
//
//   node bench/sync-and-idle.mjs --scenario sync|idle|both [options]
import {
  createUsers,
  DeviceSocket,
  fmt,
  httpSend,
  log,
  mapLimit,
  now,
  openFds,
  openServer,
  parseArgs,
  rssBytes,
  sleep,
  textContent,
  ulimitN,
  waitFor,
  workerdPids,
} from "./lib.mjs";

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

// ---------------------------------------------------------------- sync

async function syncScenario(server) {
  const n = opts.messages;
  log(`sync: creating the sender and the offline receiver`);
  const [sender, receiver] = await createUsers(server.url, 2, 2, 2);
  // The receiver's second device stays online only to see when the last copy is stored (it
  // never acks, so seq 0 still means "from the start"); it disconnects before the timed sync.
  const observed = { count: 0, maxSeq: 0 };
  const observer = new DeviceSocket(server.url, receiver.devices[1], {
    onPush: (m) => {
      observed.count++;
      observed.maxSeq = Math.max(observed.maxSeq, m.seq);
    },
  });
  await observer.open();
  const senderSock = new DeviceSocket(server.url, sender.devices[0]);
  await senderSock.open();

  log(`sync: sending ${n} messages over ${opts["send-via"]} (${opts["send-concurrency"]} in flight)`);
  /** sender seq -> clientMsgId; the receiver's seq k must carry the sender's k-th message. */
  const bySenderSeq = new Map();
  let errors = 0;
  const t0 = now();
  const tag = Math.random().toString(36).slice(2, 8);
  let progressAt = now();
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    opts["send-concurrency"],
    async (i) => {
      const cid = `${tag}-${i}`;
      const content = textContent(`offline message ${i} `.padEnd(32, "x"));
      let seq;
      if (opts["send-via"] === "http") {
        seq = Number((await httpSend(server.url, sender.devices[0], receiver.userId, content, cid)).seq);
      } else {
        const r = await senderSock.sendMessage(receiver.userId, content, cid, 120_000);
        if (r.out.code !== 0) {
          errors++;
          return;
        }
        seq = r.seq;
      }
      bySenderSeq.set(seq, cid);
      if (now() - progressAt > 10_000) {
        progressAt = now();
        log(`sync: ${bySenderSeq.size} sent`);
      }
    },
  );
  const sendSeconds = (now() - t0) / 1000;
  log(`sync: ${bySenderSeq.size} sent in ${fmt(sendSeconds)} s (${fmt(bySenderSeq.size / sendSeconds)} msg/s), ${errors} errors; waiting for the receiver's inbox`);
  const stored = await waitFor(() => observed.count >= bySenderSeq.size, 600_000, 50);
  const storeSeconds = (now() - t0) / 1000;
  log(`sync: observer saw ${observed.count} pushes (max seq ${observed.maxSeq}) ${stored ? "" : "(timed out) "}${fmt(storeSeconds)} s after the first send`);
  await observer.close();
  await senderSock.close();
  await sleep(1000);

  // The timed part: connect, then page from seq 0 while has_more.
  const device = new DeviceSocket(server.url, receiver.devices[0]);
  const tConnect = now();
  await device.open();
  const tOpen = now();
  const seqs = [];
  const cids = [];
  let pages = 0;
  let cursor = 0;
  let hasMore = true;
  let firstPageMs = NaN;
  while (hasMore && pages <= n + 10) {
    const page = await device.syncPage(cursor, opts.limit, 60_000);
    pages++;
    if (pages === 1) {
      firstPageMs = now() - tConnect;
    }
    for (const m of page.messages) {
      seqs.push(m.seq);
      cids.push(m.clientMsgId);
    }
    hasMore = page.hasMore;
    if (page.messages.length === 0) {
      break;
    }
    cursor = page.messages[page.messages.length - 1].seq;
  }
  const tDone = now();
  await device.close();

  let inOrder = seqs.length === bySenderSeq.size;
  let firstBad = "";
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== i + 1 || cids[i] !== bySenderSeq.get(i + 1)) {
      inOrder = false;
      firstBad = `position ${i}: seq ${seqs[i]} (${cids[i]}), expected seq ${i + 1} (${bySenderSeq.get(i + 1)})`;
      break;
    }
  }
  const r = {
    messages: n,
    sent: bySenderSeq.size,
    sendErrors: errors,
    sendVia: opts["send-via"],
    sendSeconds,
    sendRate: bySenderSeq.size / sendSeconds,
    storedSeconds: storeSeconds,
    connectMs: tOpen - tConnect,
    firstPageMs,
    syncMs: tDone - tOpen,
    totalMs: tDone - tConnect,
    pages,
    received: seqs.length,
    exactlyOneToNInOrder: inOrder && seqs.length === n,
    firstMismatch: firstBad,
  };
  results.sync = r;
  console.log(`--- sync: ${n} offline messages`);
  console.log(`  fill                 ${r.sent} sent over ${r.sendVia} in ${fmt(r.sendSeconds)} s (${fmt(r.sendRate)} msg/s), ${errors} errors; all stored in the receiver's inbox after ${fmt(r.storedSeconds)} s`);
  console.log(`  connect              ${fmt(r.connectMs)} ms (WebSocket open)`);
  console.log(`  sync                 ${r.received} messages in ${r.pages} pages, ${fmt(r.syncMs)} ms after open (first page ${fmt(r.firstPageMs)} ms after connect)`);
  console.log(`  connect -> all       ${fmt(r.totalMs)} ms (${fmt(r.received / (r.totalMs / 1000), 0)} msg/s)`);
  console.log(`  check                ${r.exactlyOneToNInOrder ? `exactly seqs 1..${n} in send order` : `FAILED: ${firstBad || `${r.received} received, ${n} expected`}`}`);
}

// ---------------------------------------------------------------- idle

const mb = (bytes) => bytes / 2 ** 20;

async function idleScenario(server) {
  const pids = server.inProcess ? workerdPids() : [];
  if (!pids.length) {
    log("idle: no workerd process of this node process found (use the in-process server); memory figures will be missing");
  }
  const limit = ulimitN();
  const ownFds = openFds();
  if (Number.isFinite(limit) && opts.connections + ownFds + 200 > limit) {
    throw new Error(`--connections ${opts.connections} would exceed ulimit -n ${limit} (${ownFds} fds open already)`);
  }
  const users = Math.ceil(opts.connections / opts.devices);
  const rss = { start: rssBytes(pids) };
  // workerd's open files, sampled every second (each socket is one; each awake inbox's SQLite
  // database holds some too; all count against workerd's `ulimit -n`).
  const fds = { max: 0, maxDuringOpen: 0, phase: "setup" };
  const fdTimer = setInterval(() => {
    const n = openFds(pids);
    fds.max = Math.max(fds.max, n);
    if (fds.phase === "open") {
      fds.maxDuringOpen = Math.max(fds.maxDuringOpen, n);
    }
  }, 1000);
  log(`idle: workerd RSS at start ${fmt(mb(rss.start))} MB; signing in ${users} users x ${opts.devices} devices (${opts["setup-concurrency"]} calls in flight)`);
  const t0 = now();
  let lastLog = now();
  const created = await createUsers(server.url, users, opts.devices, opts["setup-concurrency"], (done) => {
    if (now() - lastLog > 15_000) {
      lastLog = now();
      log(`idle: ${done}/${users} users signed in`);
    }
  });
  const setupSeconds = (now() - t0) / 1000;
  const devices = created.flatMap((u) => u.devices).slice(0, opts.connections);
  log(`idle: ${devices.length} devices signed in (${fmt(setupSeconds)} s); settling 10 s`);
  await sleep(10_000);
  rss.beforeOpen = rssBytes(pids);
  fds.beforeOpen = openFds(pids);
  fds.phase = "open";

  let unexpectedCloses = 0;
  let closing = false;
  const closeCodes = new Map();
  const sockets = devices.map(
    (d) =>
      new DeviceSocket(server.url, d, {
        onClose: (s, code) => {
          if (!closing && s.opened) {
            unexpectedCloses++;
            closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
          }
        },
      }),
  );
  const tOpen = now();
  let opened = 0;
  let openErrors = 0;
  const openErrorSamples = new Map();
  lastLog = now();
  await mapLimit(sockets, opts["open-concurrency"], async (s) => {
    try {
      await s.open(60_000);
      s.opened = true;
      opened++;
    } catch (err) {
      openErrors++;
      openErrorSamples.set(err.message, (openErrorSamples.get(err.message) ?? 0) + 1);
    }
    if (now() - lastLog > 15_000) {
      lastLog = now();
      log(`idle: ${opened} open`);
    }
  });
  const openSeconds = (now() - tOpen) / 1000;
  log(`idle: ${opened} sockets open in ${fmt(openSeconds)} s (${openErrors} failed); settling 10 s`);
  fds.phase = "settle";
  fds.rightAfterOpen = openFds(pids);
  await sleep(10_000);
  rss.afterOpen = rssBytes(pids);
  fds.afterOpen = openFds(pids);

  // Hold, pinging every socket with the auto-answered text ping.
  const holdStart = now();
  let pingRounds = 0;
  const samples = [];
  while (now() - holdStart < opts.hold * 1000) {
    for (const s of sockets) {
      s.ping();
    }
    pingRounds++;
    const roundEnd = Math.min(holdStart + opts.hold * 1000, now() + opts["ping-every"] * 1000);
    while (now() < roundEnd) {
      await sleep(Math.min(5_000, Math.max(1, roundEnd - now())));
      samples.push(rssBytes(pids));
    }
  }
  rss.afterHold = rssBytes(pids);
  const openSockets = sockets.filter((s) => s.opened && !s.closed).length;
  await waitFor(() => sockets.every((s) => s.closed || s.pongs >= pingRounds), 30_000, 100);
  const ponged = sockets.filter((s) => s.pongs >= pingRounds).length;

  // Every socket must still answer a PT_HEARTBEAT (this wakes each user's inbox).
  let heartbeats = 0;
  let heartbeatErrors = 0;
  const tHb = now();
  await mapLimit(sockets, 256, async (s) => {
    if (s.closed) {
      heartbeatErrors++;
      return;
    }
    try {
      await s.heartbeat(60_000);
      heartbeats++;
    } catch {
      heartbeatErrors++;
    }
  });
  const hbSeconds = (now() - tHb) / 1000;
  await sleep(5_000);
  rss.afterHeartbeat = rssBytes(pids);
  const clientRss = process.memoryUsage().rss;
  fds.end = openFds(pids);
  clearInterval(fdTimer);

  closing = true;
  await mapLimit(sockets, 512, (s) => s.close(5_000));

  const perConn = (after) => (after - rss.beforeOpen) / Math.max(1, opened);
  const r = {
    connections: opts.connections,
    users,
    devicesPerUser: opts.devices,
    setupSeconds,
    opened,
    openErrors,
    openErrorSamples: Object.fromEntries(openErrorSamples),
    openSeconds,
    openRate: opened / openSeconds,
    holdSeconds: opts.hold,
    pingRounds,
    openAtEnd: openSockets,
    answeredEveryPing: ponged,
    heartbeats,
    heartbeatErrors,
    heartbeatSeconds: hbSeconds,
    unexpectedCloses,
    closeCodes: Object.fromEntries(closeCodes),
    workerdPids: pids,
    workerdRssMB: {
      start: mb(rss.start),
      beforeOpen: mb(rss.beforeOpen),
      afterOpen: mb(rss.afterOpen),
      holdMax: mb(Math.max(rss.afterOpen, ...samples)),
      afterHold: mb(rss.afterHold),
      afterHeartbeat: mb(rss.afterHeartbeat),
    },
    perConnectionKB: {
      afterOpen: perConn(rss.afterOpen) / 1024,
      afterHold: perConn(rss.afterHold) / 1024,
      afterHeartbeat: perConn(rss.afterHeartbeat) / 1024,
    },
    clientRssMB: mb(clientRss),
    workerdFds: { limit, ...fds, phase: undefined },
  };
  results.idle = r;
  const w = r.workerdRssMB;
  console.log(`--- idle: ${opts.connections} WebSockets (${users} users x ${opts.devices} devices)`);
  console.log(`  setup                ${users * opts.devices} devices registered and signed in in ${fmt(setupSeconds)} s`);
  console.log(`  open                 ${opened} open in ${fmt(openSeconds)} s (${fmt(r.openRate, 0)}/s), ${openErrors} failed`);
  for (const [k, v] of openErrorSamples) {
    console.log(`    x${v}: ${k}`);
  }
  console.log(`  workerd RSS          start ${fmt(w.start)} MB, before open ${fmt(w.beforeOpen)} MB, after open ${fmt(w.afterOpen)} MB, after ${opts.hold} s hold ${fmt(w.afterHold)} MB (max ${fmt(w.holdMax)}), after heartbeats ${fmt(w.afterHeartbeat)} MB`);
  console.log(`  per idle connection  ${fmt(r.perConnectionKB.afterOpen)} KB after open, ${fmt(r.perConnectionKB.afterHold)} KB after hold, ${fmt(r.perConnectionKB.afterHeartbeat)} KB after every inbox woke for a heartbeat`);
  console.log(`  still open           ${openSockets}/${opened} after hold; ${ponged} answered every ping (${pingRounds} rounds); ${heartbeats} answered PT_HEARTBEAT (${heartbeatErrors} failed, ${fmt(hbSeconds)} s)`);
  console.log(`  workerd open files   before open ${fds.beforeOpen}, max while opening ${fds.maxDuringOpen}, right after ${fds.rightAfterOpen}, 10 s later ${fds.afterOpen}, at the end ${fds.end} (ulimit -n ${limit})`);
  console.log(`  unexpected closes    ${unexpectedCloses}${closeCodes.size ? ` ${JSON.stringify(r.closeCodes)}` : ""}; client (node) RSS ${fmt(r.clientRssMB, 0)} MB`);
}

// ---------------------------------------------------------------- main

async function main() {
  const server = await openServer(opts.url, opts.tmp);
  let code = 0;
  try {
    log(`server ${server.url}${server.inProcess ? ` (in-process, state ${server.stateDir})` : ""}`);
    if (opts.scenario === "sync" || opts.scenario === "both") {
      await syncScenario(server);
    }
    if (opts.scenario === "idle" || opts.scenario === "both") {
      await idleScenario(server);
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
