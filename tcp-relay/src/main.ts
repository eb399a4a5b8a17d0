/**
 * Process entry: configuration from the environment, start, graceful drain on SIGTERM/SIGINT
 * (a second signal exits at once). Prints one JSON line "relay started" with the bound ports.
 */
import { ConfigError, loadConfig } from "./config";
import { startRelay } from "./relay";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const relay = await startRelay(config);
  let signalled = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (signalled) {
        process.exit(1);
      }
      signalled = true;
      relay.stop({ drainMs: config.drainMs }).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level: "error", msg: "relay failed to start", err: String((err as Error)?.message ?? err) })}\n`);
  process.exit(1);
});
