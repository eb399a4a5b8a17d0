// The 1:1 scenario of bench/relay.mjs: one transport's users and connections ("group"), the
// open-loop sender, one run (warm-up, load, drain, late wait) and its figures.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { log, mapLimit, now, pb, PT, sleep, summarize, waitFor } from "../lib.mjs";
import { cpuNow } from "./cpu.mjs";

/** Sends `count` messages at `rate`/s (open loop) with `send(i)`; resolves when all are written. */
async function offer(rate, count, send) {
  const start = now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((now() - start) / 1000) * rate) + 1);
    while (sent < due) {
      send(sent++);
    }
    await sleep(2);
  }
}

/** One transport's users, connections and records within a run. */
export function makeGroup(label, users, open) {
  const group = { label, users, open, records: new Map(), stats: { duplicates: 0, unknown: 0, errors: 0 }, conns: [], connOf: null, n: 0 };
  group.onOutput = (out, at, conn) => {
    if (out.type === PT.PT_SEND_MESSAGE) {
      group.stats.errors += out.code === 0 ? 0 : 1;
      return;
    }
    if (out.type !== PT.PT_MESSAGE || out.requestId !== 0) {
      return;
    }
    const { message } = pb.MessageSend.decode(out.data);
    const rec = group.records.get(message.clientMsgId);
    if (!rec) {
      group.stats.unknown++;
      return;
    }
    const key = conn.device.deviceId;
    if (rec.got.has(key)) {
      group.stats.duplicates++;
      return;
    }
    rec.got.set(key, at - rec.sentAt);
    rec.lastAt = at;
  };
  group.send = (fromUser, fromDevice, toUser) => {
    const clientMsgId = `${label}-${++group.n}`;
    const expected = [...toUser.devices, ...fromUser.devices.filter((d) => d !== fromDevice)].map((d) => d.deviceId);
    group.records.set(clientMsgId, { sentAt: now(), expected, got: new Map(), lastAt: 0 });
    const data = pb.SendMessageReq.encode({ receiverType: pb.ReceiverType.RT_USER, receiverId: toUser.userId, messageType: pb.MessageType.MT_TEXT, messageContent: pb.Text.encode({ text: clientMsgId.padEnd(32, ".") }).finish(), isPersist: true, clientMsgId }).finish();
    group.connOf.get(fromDevice.deviceId).write(pb.Input.encode({ type: PT.PT_SEND_MESSAGE, requestId: group.n, data }).finish());
  };
  group.sendRandom = () => {
    const from = users[Math.floor(Math.random() * users.length)];
    let to = users[Math.floor(Math.random() * (users.length - 1))];
    to = to === from ? users[users.length - 1] : to;
    group.send(from, from.devices[Math.floor(Math.random() * from.devices.length)], to);
  };
  group.complete = () => [...group.records.values()].every((r) => r.got.size === r.expected.length);
  return group;
}

/**
 * One run: the groups' users send at `opts.rate` in total (an equal share each, interleaved), so
 * groups run in one run share the same server conditions. Resolves one result per group.
 */
export async function runLoad(st, groups) {
  const { opts } = st;
  const name = groups.map((g) => g.label).join("+");
  for (const group of groups) {
    log(`${group.label}: opening ${group.users.length * opts.devices} connections`);
    group.conns = await mapLimit(group.users.flatMap((u) => u.devices), 64, (d) => group.open(d, group.onOutput));
    group.connOf = new Map(group.conns.map((c) => [c.device.deviceId, c]));
  }
  await warmUp(opts, groups, name);

  log(`${name}: load, ${opts.rate} msg/s in total for ${opts.seconds} s`);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = now();
  const cpu0 = cpuNow(st);
  await offer(opts.rate, Math.round(opts.rate * opts.seconds), (i) => groups[i % groups.length].sendRandom());
  const sendSeconds = (now() - t0) / 1000;
  await waitFor(() => groups.every((g) => g.complete()), opts.drain * 1000, 50);
  const cpu = cpuNow(st, cpu0);
  loop.disable();
  const results = groups.map((g) => measure(opts, g, t0, sendSeconds));
  // Before the next run: wait (up to --late s) for what is still outstanding, so every run
  // starts on an idle server; what arrives now counts as late, the rest as never delivered.
  if (results.some((r) => r.lost > 0)) {
    log(`${name}: deliveries outstanding after the ${opts.drain} s drain; waiting up to ${opts.late} s`);
    await waitFor(() => groups.every((g) => g.complete()), opts.late * 1000, 200);
  }
  for (const [i, g] of groups.entries()) {
    const never = [...g.records.values()].reduce((n, r) => n + r.expected.length - r.got.size, 0);
    Object.assign(results[i], { late: results[i].lost - never, never, duplicates: g.stats.duplicates, errors: g.stats.errors, unknown: g.stats.unknown, loopDelayP99: loop.percentile(99) / 1e6, cpu, paired: groups.length > 1 });
    g.conns.forEach((c) => c.close());
  }
  await waitFor(() => groups.every((g) => g.conns.every((c) => c.closed)), 10_000, 20);
  return results;
}

/** Warm-up, not measured: one message per ordered user pair (every inbox meets its peers once). */
async function warmUp(opts, groups, name) {
  const pairs = groups.flatMap((g) => g.users.flatMap((u) => g.users.filter((v) => v !== u).map((v) => [g, u, v])));
  log(`${name}: warm-up, ${pairs.length} messages at ${opts.rate / 2}/s`);
  await offer(opts.rate / 2, pairs.length, (i) => pairs[i][0].send(pairs[i][1], pairs[i][1].devices[i % opts.devices], pairs[i][2]));
  await waitFor(() => groups.every((g) => g.complete()), 60_000, 50);
  groups.forEach((g) => {
    g.records.clear();
    g.stats = { duplicates: 0, unknown: 0, errors: 0 };
  });
}

/** Throughput, latency and loss of one group at the end of the drain window. */
function measure(opts, group, t0, sendSeconds) {
  const latencies = [];
  let complete = 0;
  let lost = 0;
  let expected = 0;
  let lastAt = t0;
  for (const rec of group.records.values()) {
    expected += rec.expected.length;
    rec.got.forEach((ms) => latencies.push(ms));
    lost += rec.expected.length - rec.got.size;
    complete += rec.got.size === rec.expected.length ? 1 : 0;
    lastAt = Math.max(lastAt, rec.lastAt);
  }
  const spanSeconds = (lastAt - t0) / 1000;
  return {
    transport: group.label,
    offeredRate: opts.rate / (group.paired ? 2 : 1),
    sent: group.records.size,
    achievedRate: group.records.size / sendSeconds,
    deliveredPerSecond: complete / spanSeconds,
    deliveriesPerSecond: latencies.length / spanSeconds,
    deliveries: latencies.length,
    expected,
    lost,
    latency: summarize(latencies),
  };
}
