import { openServer, createUsers, DeviceSocket, textContent, now, summarize, sleep } from "./lib.mjs";
const server = await openServer();
try {
  const users = await createUsers(server.url, 4, 2);
  const socks = [];
  for (const u of users) for (const d of u.devices) { const s = new DeviceSocket(server.url, d, {}); await s.open(); socks.push(s); }
  for (const conc of [1, 1, 4, 16]) {
    const lat = [];
    const t0 = now();
    let n = 0;
    await Promise.all(Array.from({length: conc}, async (_, w) => {
      for (let i = 0; i < 40; i++) {
        const t = now();
        const r = await socks[w % 2].sendMessage(users[1 + (i % 3)].userId, textContent("x"), `p${conc}-${w}-${i}-${Math.random()}`);
        lat.push(now() - t); n++;
      }
    }));
    const s = summarize(lat);
    console.log(`conc ${conc}: ${n} sends in ${(now()-t0).toFixed(0)} ms, p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)}`);
  }
  // heartbeat latency
  const hl = [];
  for (let i = 0; i < 20; i++) { const t = now(); await socks[3].heartbeat(); hl.push(now() - t); }
  console.log("heartbeat", summarize(hl));
  for (const s of socks) await s.close();
} finally { await server.stop(); }
