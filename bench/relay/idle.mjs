// Idle part of bench/relay.mjs: N signed-in TCP connections held through one relay child
// process, and the relay's memory per connection.
import { fmt, log, mapLimit, now, rssBytes, sleep } from "../lib.mjs";
import { startRelayChild } from "./child.mjs";
import { Conn } from "./conn.mjs";
import { createUsers } from "./users.mjs";

/** Opens --idle connections through a new relay child, holds them --hold s; resolves the figures. */
export async function runIdle(st, baseUrl, relayModule) {
  const { opts } = st;
  const perUser = opts["idle-devices"];
  const userCount = Math.ceil(opts.idle / perUser);
  log(`idle: creating ${userCount} users x ${perUser} devices`);
  const users = await createUsers(baseUrl, userCount, perUser, "9");
  const devices = users.flatMap((u) => u.devices).slice(0, opts.idle);
  st.relayChild = await startRelayChild(baseUrl);
  const child = st.relayChild;
  const rss = () => rssBytes([child.pid]);
  await sleep(5_000);
  const before = rss();
  log(`idle: relay child ${child.pid} RSS ${fmt(before / 1048576)} MB; opening ${devices.length} TCP connections`);
  const t0 = now();
  const conns = await mapLimit(devices, 64, (d) => Conn.tcp(child.ports.tcp[0], d, () => {}, relayModule));
  const openSeconds = (now() - t0) / 1000;
  await sleep(10_000);
  const afterOpen = rss();
  const samples = [afterOpen];
  log(`idle: ${conns.length} open in ${fmt(openSeconds)} s; RSS ${fmt(afterOpen / 1048576)} MB; holding ${opts.hold} s`);
  for (let held = 0; held < opts.hold; held += 10) {
    await sleep(Math.min(10, opts.hold - held) * 1000);
    samples.push(rss());
  }
  const afterHold = rss();
  const metrics = await (await fetch(`http://127.0.0.1:${child.ports.metrics}/metrics`)).text();
  const heap = Number(/^gim_relay_process_heap_used_bytes (\d+)/m.exec(metrics)?.[1] ?? 0);
  const open = conns.filter((c) => !c.closed).length;
  const result = {
    connections: conns.length,
    stillOpen: open,
    openSeconds,
    rssBeforeMB: before / 1048576,
    rssAfterOpenMB: afterOpen / 1048576,
    rssAfterHoldMB: afterHold / 1048576,
    perConnectionKB: (afterOpen - before) / conns.length / 1024,
    perConnectionAfterHoldKB: (afterHold - before) / conns.length / 1024,
    heapUsedMB: heap / 1048576,
  };
  conns.forEach((c) => c.socket.destroy());
  await child.stop();
  st.relayChild = null;
  return result;
}
