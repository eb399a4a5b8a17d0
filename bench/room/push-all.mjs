// Push-to-all phase of bench/room.mjs: the devices connect on `/ws` (user sockets) and
// `POST /pb.LogicInt/PushAll` is called --push-all-repeats times: time until the last device
// has the message, and how many got it.
import { loadavg } from "node:os";
import { call, DeviceSocket, fmt, log, mapLimit, now, openFds, pb, sleep, summarize, waitFor } from "../lib.mjs";
import { cpuMeterThreads, waitForQuietOthers } from "./machine.mjs";

/** Opens a user socket per device, runs the PushAll rounds, closes the sockets. */
export async function runPushAll(st, devices) {
  const { opts } = st;
  const n = devices.length;
  /** round: per repeat, first receipt time per device; unknown, closes: over all rounds. */
  const pa = { n, socks: [], round: null, unknown: 0, closes: 0 };
  const o0 = now();
  await mapLimit(devices, opts["open-concurrency"], async (device, i) => {
    const sock = new DeviceSocket(st.baseUrl, device, {
      onPush: (message, recvAt) => onPushAll(st, pa, i, message, recvAt),
      onClose: () => {
        if (!st.closing) {
          pa.closes++;
        }
      },
    });
    await sock.open(60_000);
    pa.socks[i] = sock;
    if ((i + 1) % 1000 === 0) {
      log(`  ${i + 1}/${n} user sockets open`);
    }
  });
  const openMs = now() - o0;
  log(`push-all: ${n} user sockets open in ${fmt(openMs / 1000)} s (${fmt(n / (openMs / 1000), 0)}/s); client fds ${openFds()}`);
  st.results.setup.userSocketsOpenMs = openMs;
  for (let index = 0; index < opts["push-all-repeats"]; index++) {
    await sleep(opts["push-all-gap"] * 1000);
    await waitForQuietOthers(st, `push-all #${index + 1}`);
    await pushAllRound(st, pa, devices, index);
  }
  pa.round = null;
  st.results.pushAllExtra = { unknownPushes: pa.unknown, unexpectedCloses: pa.closes };
  if (pa.unknown || pa.closes) {
    console.log(`  push-all: ${pa.unknown} unexpected pushes, ${pa.closes} user sockets closed by the server`);
  }
  st.closing = true;
  await mapLimit(pa.socks.filter(Boolean), 256, (s) => s.close(5_000));
  st.closing = false;
}

/** A push to device `i`: the first receipt of this round's message, a duplicate, or unknown. */
function onPushAll(st, pa, i, message, recvAt) {
  let text = "";
  try {
    text = pb.Text.decode(message.messageContent).text;
  } catch {
    // not ours
  }
  const r = pa.round;
  if (!r || !text.startsWith(`${st.runTag}:all:${r.index}:`)) {
    pa.unknown++;
    return;
  }
  if (r.at[i]) {
    r.duplicates++;
    return;
  }
  r.at[i] = recvAt;
  r.got++;
  r.lastAt = Math.max(r.lastAt, recvAt);
}

/** One PushAll call: waits (120 s at most) until every device has it; prints the round. */
async function pushAllRound(st, pa, devices, index) {
  const { opts } = st;
  const { n } = pa;
  const round = { index, at: new Float64Array(n), got: 0, duplicates: 0, lastAt: 0 };
  pa.round = round;
  const text = `${st.runTag}:all:${index}:`.padEnd(opts.bytes, "x");
  const meter = cpuMeterThreads(st.workerdPids);
  const loadBefore = loadavg()[0];
  const t0 = now();
  let httpMs = NaN;
  let httpError = "";
  const req = call(
    st.baseUrl,
    "/pb.LogicInt/PushAll",
    { messageType: "MT_TEXT", messageContent: Buffer.from(pb.Text.encode({ text }).finish()).toString("base64") },
    { authorization: "Bearer local-server-secret" },
    120_000,
  ).then(
    () => (httpMs = now() - t0),
    (err) => {
      httpMs = now() - t0;
      httpError = String(err.message).slice(0, 300);
    },
  );
  await waitFor(() => round.got >= n, 120_000, 5);
  await req;
  await sleep(1_000); // duplicates after the last first receipt
  const cpu = meter();
  const lat = [];
  for (let i = 0; i < n; i++) {
    if (round.at[i]) {
      lat.push(round.at[i] - t0);
    }
  }
  const r = {
    index,
    devices: n,
    users: new Set(devices.map((d) => d.userId)).size,
    got: round.got,
    missing: n - round.got,
    duplicates: round.duplicates,
    lastMs: round.got ? round.lastAt - t0 : NaN,
    perDevice: summarize(lat),
    httpMs,
    httpError,
    cpu,
    loadBefore,
  };
  st.results.pushAll.push(r);
  console.log(
    `--- push-all #${index + 1}: ${r.got}/${n} devices (${r.users} users) got it${r.missing ? `, ${r.missing} MISSING` : ""}; last device after ${fmt(r.lastMs, 0)} ms` +
      ` (per device p50 ${fmt(r.perDevice.p50, 0)} ms p99 ${fmt(r.perDevice.p99, 0)} ms); PushAll answered after ${fmt(httpMs, 0)} ms${httpError ? ` with ERROR ${httpError}` : ""}; duplicates ${r.duplicates}` +
      `; cpu workerd ${fmt(cpu.workerdPercent, 0)}% (busiest thread ${fmt(cpu.workerdBusiestThreadPercent, 0)}%) node ${fmt(cpu.nodePercent, 0)}% other ${fmt(cpu.otherPercent, 0)}%; load ${fmt(loadBefore, 2)}`,
  );
}
