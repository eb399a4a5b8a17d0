// `npm start`: the whole local system on one machine. PORT, HOST and STATE_DIR override defaults.
import { startLocalServer } from "./local-server.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const server = await startLocalServer({
  host: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8787),
  ...(process.env.STATE_DIR ? { stateDir: process.env.STATE_DIR } : {}),
});
const ws = server.url.replace(/^http/, "ws");
console.log(`
gim-edge is running
  HTTP API   ${server.url}/pb.LogicExt/<Method>, ${server.url}/pb.BusinessExt/<Method>
  WebSocket  ${ws}/ws?user_id=…&device_id=…&token=…
  rooms      ${ws}/room?room_id=…&seq=…&user_id=…&device_id=…&token=…
  health     ${server.url}/healthz
  state      ${server.stateDir} (D1 and Durable Objects; survives restarts)
  migrations ${server.migrations.length ? `applied ${server.migrations.join(", ")}` : "up to date"}
  sign-in    code 0000 (DEV_SIGNIN_CODE, local only)
  server API ${server.url}/pb.LogicInt/<Method> with "authorization: Bearer local-server-secret"
Press Ctrl+C to stop.`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server.stop();
    process.exit(0);
  });
}
