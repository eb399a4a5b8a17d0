// The idle scenario of bench/sync-and-idle.mjs: --connections idle WebSockets, the workerd
// process memory before and after, per connection, and a PT_HEARTBEAT answered on every socket.
// Prints its lines and returns its figures.
import { createUsers, DeviceSocket, fmt, log, mapLimit, now, openFds, rssBytes, sleep, ulimitN, waitFor, workerdPids } from "../lib.mjs";

const mb = (bytes) => bytes / 2 ** 20;

export async function idleScenario(server, opts) {
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
        deflate: opts.deflate,
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
  let deflateAgreed = 0;
  const openErrorSamples = new Map();
  lastLog = now();
  await mapLimit(sockets, opts["open-concurrency"], async (s) => {
    try {
      await s.open(60_000);
      s.opened = true;
      opened++;
      deflateAgreed += s.ws.extensions ? 1 : 0;
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
    deflateOffered: opts.deflate,
    deflateAgreed,
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
  const w = r.workerdRssMB;
  console.log(`--- idle: ${opts.connections} WebSockets (${users} users x ${opts.devices} devices)`);
  console.log(`  setup                ${users * opts.devices} devices registered and signed in in ${fmt(setupSeconds)} s`);
  console.log(`  open                 ${opened} open in ${fmt(openSeconds)} s (${fmt(r.openRate, 0)}/s), ${openErrors} failed; permessage-deflate ${opts.deflate ? `offered, agreed on ${deflateAgreed}` : "not offered"}`);
  for (const [k, v] of openErrorSamples) {
    console.log(`    x${v}: ${k}`);
  }
  console.log(`  workerd RSS          start ${fmt(w.start)} MB, before open ${fmt(w.beforeOpen)} MB, after open ${fmt(w.afterOpen)} MB, after ${opts.hold} s hold ${fmt(w.afterHold)} MB (max ${fmt(w.holdMax)}), after heartbeats ${fmt(w.afterHeartbeat)} MB`);
  console.log(`  per idle connection  ${fmt(r.perConnectionKB.afterOpen)} KB after open, ${fmt(r.perConnectionKB.afterHold)} KB after hold, ${fmt(r.perConnectionKB.afterHeartbeat)} KB after every inbox woke for a heartbeat`);
  console.log(`  still open           ${openSockets}/${opened} after hold; ${ponged} answered every ping (${pingRounds} rounds); ${heartbeats} answered PT_HEARTBEAT (${heartbeatErrors} failed, ${fmt(hbSeconds)} s)`);
  console.log(`  workerd open files   before open ${fds.beforeOpen}, max while opening ${fds.maxDuringOpen}, right after ${fds.rightAfterOpen}, 10 s later ${fds.afterOpen}, at the end ${fds.end} (ulimit -n ${limit})`);
  console.log(`  unexpected closes    ${unexpectedCloses}${closeCodes.size ? ` ${JSON.stringify(r.closeCodes)}` : ""}; client (node) RSS ${fmt(r.clientRssMB, 0)} MB`);
  return r;
}
