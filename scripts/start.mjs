// `npm start`: the whole local system on one machine: the Worker with its Durable Objects and D1
// (state on disk), and the TCP relay in single-instance mode beside it.
// PORT, HOST and STATE_DIR override the Worker's defaults; RELAY=off leaves the relay out; the
// relay reads its own variables (TCP_PORT, WS_PORT, GRPC_PORT, METRICS_PORT, REDIS_URL, …).
import { loadRelay } from "../tcp-relay/build.mjs";
import { startLocalServer } from "./local-server.mjs";

const server = await startLocalServer({
  host: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8787),
  ...(process.env.STATE_DIR ? { stateDir: process.env.STATE_DIR } : {}),
});
let relay = null;
if (process.env.RELAY !== "off") {
  const { loadConfig, startRelay } = await loadRelay();
  // Loopback unless RELAY_HOST says otherwise: with the local sign-in code, the relay must not face a network.
  relay = await startRelay(loadConfig({ RELAY_HOST: "127.0.0.1", ...process.env, WORKER_URL: server.url }));
}
const ws = server.url.replace(/^http/, "ws");
const relayLines = relay
  ? `
  TCP relay  tcp://127.0.0.1:${relay.ports.tcp.join(", ")} (gim framing), ws://127.0.0.1:${relay.ports.ws}/ws (gim web clients), gRPC 127.0.0.1:${relay.ports.grpc}, metrics http://127.0.0.1:${relay.ports.metrics}/metrics`
  : "";
console.log(`
gim-edge is running
  web page   ${server.url}/
  HTTP API   ${server.url}/pb.LogicExt/<Method>, ${server.url}/pb.BusinessExt/<Method>
  WebSocket  ${ws}/ws?user_id=…&device_id=…&token=…
  rooms      ${ws}/room?room_id=…&seq=…&user_id=…&device_id=…&token=…${relayLines}
  health     ${server.url}/healthz
  state      ${server.stateDir} (D1 and Durable Objects; survives restarts)
  migrations ${server.migrations.length ? `applied ${server.migrations.join(", ")}` : "up to date"}
  sign-in    code 0000 (DEV_SIGNIN_CODE, local only)
  server API ${server.url}/pb.LogicInt/<Method> with "authorization: Bearer local-server-secret"
Press Ctrl+C to stop.`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await relay?.stop({ drainMs: 0 });
    await server.stop();
    process.exit(0);
  });
}
