// Setup and teardown of bench/room.mjs: the local server with a fresh state dir and the machine
// line, users and devices, the room sockets and the sender; before push-all, closing the room
// sockets; at the end, everything.
import { rmSync } from "node:fs";
import { createUsers, DeviceSocket, fmt, log, machineFacts, mapLimit, now, openFds, openServer, rssBytes, sleep, summarize, ulimitN, workerdPids } from "../lib.mjs";
import { othersNow, waitForQuietMachine } from "./machine.mjs";
import { closeRoomSockets, openRoomSocket, roomInfo } from "./sockets.mjs";

/**
 * Checks the open-files limit, waits for a quiet machine (--load-wait), starts the local server
 * (st.server, st.baseUrl, st.stateDir) and prints the machine line.
 * @throws Error when ulimit -n is below the client's file descriptors.
 */
export async function startServer(st) {
  const { opts, N, PUSH_ALL_N, results } = st;
  const fdLimit = ulimitN();
  const clientFds = N + (opts["keep-room-sockets"] ? PUSH_ALL_N : 0) + 200;
  if (Number.isFinite(fdLimit) && clientFds > fdLimit) {
    throw new Error(`${clientFds} client file descriptors needed, ulimit -n is ${fdLimit}`);
  }
  if (opts["load-wait"] > 0) {
    await waitForQuietMachine(st, "before start");
  }
  log("starting the local server");
  const vars = opts["shard-size"] > 0 ? { ROOM_SHARD_SIZE: String(Math.floor(opts["shard-size"])) } : {};
  st.server = await openServer("", { tmpBase: opts.tmp, prefix: "gim-bench-room-", quiet: !opts.verbose, vars });
  st.stateDir = st.server.stateDir;
  st.baseUrl = st.server.url;
  st.workerdPids = workerdPids();
  log(`server at ${st.baseUrl} (state in ${st.stateDir}); workerd pids ${st.workerdPids.join(",") || "(none found)"}; room ${st.roomId}`);
  const others = await othersNow(st);
  results.machine = {
    ...machineFacts(),
    otherPercentAtStart: others.percent,
    othersAtStart: others.busy,
    ulimitN: fdLimit,
  };
  console.log(
    `machine: ${results.machine.nproc} cores (${results.machine.cpu}), ${fmt(results.machine.memGiB)} GiB, node ${results.machine.node}, ulimit -n ${fdLimit}; load ${fmt(results.machine.loadAtStart, 2)}; other processes ${fmt(others.percent, 0)}% of a core${others.busy.length ? `: ${others.busy.join(", ")}` : ""}`,
  );
}

/**
 * Users and devices: ceil(max(N, PUSH_ALL_N) / DEVICES) users x DEVICES, plus the sender
 * (st.sender). Resolves the first max(N, PUSH_ALL_N) devices.
 */
export async function createDevices(st) {
  const { opts, N, DEVICES, PUSH_ALL_N, results } = st;
  const needed = Math.max(N, PUSH_ALL_N);
  const userCount = Math.ceil(needed / DEVICES);
  const u0 = now();
  const users = await createUsers(st.baseUrl, userCount, DEVICES, opts.concurrency, (n) => {
    if (n % 50 === 0) {
      log(`  ${n}/${userCount} users signed in (${n * DEVICES} devices)`);
    }
  });
  const [senderUser] = await createUsers(st.baseUrl, 1, 1, 1);
  results.setup.usersMs = now() - u0;
  const devices = users.flatMap((u) => u.devices).slice(0, needed);
  log(`users: ${userCount} x ${DEVICES} devices (+1 sender) in ${fmt(results.setup.usersMs / 1000)} s`);
  st.sender = { device: senderUser.devices[0], sock: null };
  return devices;
}

/** Opens the N room sockets (upgrade time of each); logs the figures. */
export async function openRoomSockets(st, devices) {
  const { opts, N, results } = st;
  st.lastSeq = new Float64Array(N);
  const o0 = now();
  const openTimes = [];
  await mapLimit(devices.slice(0, N), opts["open-concurrency"], async (device, i) => {
    const t = now();
    await openRoomSocket(st, i, device);
    openTimes.push(now() - t);
    if ((i + 1) % 1000 === 0) {
      log(`  ${i + 1}/${N} room sockets open`);
    }
  });
  results.setup.roomSocketsOpenMs = now() - o0;
  results.setup.roomUpgrade = summarize(openTimes);
  const negotiated = st.subs.filter((sub) => sub?.ws.extensions).length;
  results.setup.deflateSockets = negotiated;
  log(
    `room sockets: ${N} open in ${fmt(results.setup.roomSocketsOpenMs / 1000)} s (${fmt(N / (results.setup.roomSocketsOpenMs / 1000), 0)}/s; upgrade p50 ${fmt(results.setup.roomUpgrade.p50)} ms p99 ${fmt(results.setup.roomUpgrade.p99)} ms); client fds ${openFds()}; workerd RSS ${fmt(rssBytes(st.workerdPids) / 1e6, 0)} MB; permessage-deflate on ${negotiated}`,
  );
}

/**
 * GetRoomInfo must count every subscriber before sending (waits up to 30 s).
 * @throws Error when it does not.
 */
export async function checkRoomInfo(st) {
  const { N } = st;
  let info = { subscribers: 0, seq: 0 };
  const infoDeadline = now() + 30_000;
  while (now() < infoDeadline) {
    info = await roomInfo(st, st.sender.device);
    if (info.subscribers === N) {
      break;
    }
    await sleep(500);
  }
  st.results.setup.roomInfo = info;
  console.log(`room ${st.roomId}: GetRoomInfo subscriberCount ${info.subscribers} (expected ${N}), seq ${info.seq}`);
  if (info.subscribers !== N) {
    throw new Error(`GetRoomInfo counts ${info.subscribers} subscribers, expected ${N}`);
  }
}

/** With --send-via socket: the sender's user socket (/ws). */
export async function openSender(st) {
  if (st.opts["send-via"] !== "socket") {
    return;
  }
  const { sender } = st;
  sender.sock = new DeviceSocket(st.baseUrl, sender.device, {
    onClose: (_s, code, reason) => {
      if (!st.closing) {
        log(`sender socket closed: ${code} ${reason}`);
      }
    },
  });
  await sender.sock.open(30_000);
}

/** Before push-all: closes the sender's socket and (unless --keep-room-sockets) the room sockets. */
export async function closeBeforePushAll(st) {
  if (st.sender.sock) {
    st.closing = true;
    await st.sender.sock.close(5_000);
    st.closing = false;
  }
  if (st.opts["keep-room-sockets"]) {
    return;
  }
  const c0 = now();
  const ok = await closeRoomSockets(st);
  let left = -1;
  const deadline = now() + 30_000;
  while (now() < deadline) {
    left = (await roomInfo(st, st.sender.device)).subscribers;
    if (left === 0) {
      break;
    }
    await sleep(500);
  }
  log(`room sockets closed in ${fmt((now() - c0) / 1000)} s${ok ? "" : " (some terminated)"}; GetRoomInfo subscriberCount now ${left}`);
  st.results.setup.roomSubscribersAfterClose = left;
}

/** Terminates every socket, stops the server (30 s at most) and deletes the state dir. */
export async function cleanup(st) {
  st.closing = true;
  for (const sub of st.subs) {
    if (sub && !sub.closed) {
      sub.ws.terminate();
    }
  }
  if (st.sender?.sock) {
    st.sender.sock.ws?.terminate();
  }
  if (st.server) {
    const s = st.server;
    st.server = null;
    try {
      await Promise.race([s.stop(), sleep(30_000)]);
    } catch (err) {
      log(`server stop failed: ${err.message}`);
    }
  }
  if (st.stateDir) {
    // stop() removes it too, unless it did not finish in time
    rmSync(st.stateDir, { recursive: true, force: true });
    st.stateDir = "";
  }
}
