// The relay in a child node process (tcp-relay/dist/main.mjs) for bench/relay.mjs, on
// 127.0.0.1 with ephemeral ports and no rate limits; started once it logs "relay started".
import { spawn } from "node:child_process";
import { join } from "node:path";
import { distDir } from "../../tcp-relay/build.mjs";
import { sleep } from "../lib.mjs";

/** Starts the relay child; resolves { pid, ports, stop() } (stop: SIGTERM, SIGKILL after 20 s). */
export async function startRelayChild(workerUrl, extraEnv = {}) {
  const env = { ...process.env, WORKER_URL: workerUrl, RELAY_HOST: "127.0.0.1", TCP_PORT: "0", WS_PORT: "off", GRPC_PORT: "off", METRICS_PORT: "0", RATE_CONNECTIONS_PER_IP: "0", RATE_FAILED_SIGNINS_PER_IP: "0", DRAIN_SECONDS: "2", LOG_LEVEL: "info", ...extraEnv };
  const child = spawn(process.execPath, [join(distDir, "main.mjs")], { env, stdio: ["ignore", "pipe", "inherit"] });
  let buffer = "";
  const started = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("relay child did not start within 30 s")), 30_000);
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      for (let i; (i = buffer.indexOf("\n")) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          const record = JSON.parse(line);
          if (record.msg === "relay started") {
            clearTimeout(timer);
            resolve(record);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`relay child exited with ${code}`)));
  });
  child.stdout.resume();
  return {
    pid: child.pid,
    ports: started.ports,
    async stop() {
      if (child.exitCode !== null) {
        return;
      }
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) {
        child.kill("SIGKILL");
      }
    },
  };
}
