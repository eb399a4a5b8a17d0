// Setup and teardown of bench/group.mjs: the local server with a fresh state dir, the machine
// line, M + 1 users, the online members' sockets, the group and its creation notice.
import { call, createUsers, DeviceSocket, fmt, log, machineFacts, mapLimit, now, openServer, pb, summarize, waitFor, workerdPids } from "../lib.mjs";
import { codeVersion, othersNow } from "./measure.mjs";
import { onClose, onPush } from "./traffic.mjs";

const MT_COMMAND = pb.MessageType.MT_COMMAND;

/** Starts the local server (st.server, st.baseUrl, st.stateDir) and prints the code and machine lines. */
export async function startServer(st) {
  const { opts, results } = st;
  log("starting the local server");
  st.server = await openServer("", { tmpBase: opts.tmp, prefix: "gim-bench-group-" });
  st.stateDir = st.server.stateDir;
  st.baseUrl = st.server.url;
  st.workerdPids = workerdPids();
  log(`server at ${st.baseUrl} (state in ${st.stateDir}); workerd pids ${st.workerdPids.join(",") || "(none found)"}`);
  results.machine = {
    ...machineFacts(),
    othersAtStart: await othersNow(st),
    code: codeVersion(),
  };
  console.log(`code: ${results.machine.code} (the Worker is bundled from the working tree at start)`);
  console.log(
    `machine: ${results.machine.nproc} cores (${results.machine.cpu}), ${fmt(results.machine.memGiB)} GiB, node ${results.machine.node}; load ${fmt(results.machine.loadAtStart, 2)}; other busy processes: ${results.machine.othersAtStart.join(", ") || "none"}`,
  );
}

/** Registers M online members + 1 extra (offline); fills st.members. Resolves the users. */
export async function createMembers(st) {
  const { opts, M, results } = st;
  const u0 = now();
  const users = await createUsers(st.baseUrl, M + 1, 1, opts.concurrency, (n) => {
    if (n % 100 === 0) {
      log(`  ${n}/${M + 1} users signed in`);
    }
  });
  results.setup.usersMs = now() - u0;
  log(`users: ${M + 1} in ${fmt(results.setup.usersMs / 1000)} s`);
  for (let i = 0; i < M; i++) {
    st.members.push({ index: i, ...users[i].devices[0], sock: null, pushes: [], pushOrder: [], own: new Set(), unanswered: 0, answeredErrors: 0, usedUnknown: 0, checkedIdx: 0, checkedPrev: 0, noticeAt: 0 });
  }
  return users;
}

/** Opens every online member's socket; resolves the keep-alive timer (ping every 60 s). */
export async function openSockets(st) {
  const { opts, results, members } = st;
  const o0 = now();
  await mapLimit(members, opts["open-concurrency"], async (dev) => {
    const sock = new DeviceSocket(st.baseUrl, dev, {
      onPush: (m, at, s) => {
        if (m.messageType !== MT_COMMAND) {
          dev.pushOrder.push(m.clientMsgId);
        }
        onPush(st, m, at, s);
      },
      onClose: (s, code, reason) => onClose(st, s, code, reason),
    });
    sock.bench = dev;
    dev.sock = sock;
    await sock.open(60_000);
  });
  results.setup.openMs = now() - o0;
  log(`sockets: ${st.M} open in ${fmt(results.setup.openMs / 1000)} s`);
  const keepAlive = setInterval(() => members.forEach((d) => d.sock?.ping()), 60_000);
  keepAlive.unref();
  return keepAlive;
}

/** CreateGroup by the first member with every other user; waits for the notice on every device. */
export async function createGroup(st, users) {
  const { opts, M, results, members } = st;
  const owner = members[0];
  const g0 = now();
  const created = await call(
    st.baseUrl,
    "/pb.LogicExt/CreateGroup",
    { name: "bench", memberIds: users.slice(1).map((u) => String(u.userId)) },
    { user_id: String(owner.userId), device_id: String(owner.deviceId), token: owner.token },
    120_000,
  );
  results.setup.createMs = now() - g0;
  st.groupId = Number(created.groupId);
  if (!(st.groupId > 0)) {
    throw new Error(`CreateGroup answered ${JSON.stringify(created)}`);
  }
  const allNotices = await waitFor(() => st.noticeCount >= M, 120_000, 20);
  const noticeTimes = members.filter((d) => d.noticeAt).map((d) => d.noticeAt - g0);
  results.setup.notice = { ...summarize(noticeTimes), devices: st.noticeCount, all: allNotices };
  console.log(`--- setup: ${M} online members + 1 offline (group of ${M + 1}), 1 device each; ${opts.bytes}-byte texts`);
  console.log(`  users                ${fmt(results.setup.usersMs / 1000)} s (RegisterDevice + SignIn, ${opts.concurrency} in flight)`);
  console.log(`  sockets              ${fmt(results.setup.openMs / 1000)} s (${opts["open-concurrency"]} in flight)`);
  console.log(`  CreateGroup          ${fmt(results.setup.createMs)} ms (group ${st.groupId})`);
  console.log(`  creation notice      on ${st.noticeCount}/${M} devices; after CreateGroup started: p50 ${fmt(results.setup.notice.p50)} ms  max ${fmt(results.setup.notice.max)} ms`);
}

/** Closes the sockets, stops the server and deletes the state dir (safe to call twice). */
export async function cleanup(st) {
  st.closing = true;
  await mapLimit(st.members.filter((d) => d.sock), 64, (d) => d.sock.close(3000)).catch(() => undefined);
  if (st.server) {
    const s = st.server;
    st.server = null;
    await s.stop().catch((err) => log("server stop failed:", err.message));
    st.stateDir = "";
  }
}
