// The local server: the Worker, its Durable Objects and D1 in workerd under Miniflare, the Worker
// on its own workerd socket (no wrangler dev proxy in front, which dies near 3,200 WebSockets,
// and no Miniflare entry Worker), state on disk, D1 migrations applied at start. Used by
// `npm start`, the node tests and the benchmarks.
import { readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const root = new URL("..", import.meta.url).pathname;

// Offline machines: no Request.cf download, no telemetry.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

/** Defaults for a local machine; none of these are in wrangler.toml, so deploys never ship them. */
export const LOCAL_VARS = { DEV_SIGNIN_CODE: "0000", SERVER_SECRET: "local-server-secret" };

async function bundleWorker(outDir) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, "index.js");
  await build({
    entryPoints: [join(root, "workers/index.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    sourcemap: true,
    logLevel: "warning",
  });
  return outfile;
}

/** Miniflare's log, without its "Ready on" line: that names the entry socket, which clients do not use. */
class LocalLog extends Log {
  logReady() {}
}

/** True when something already listens on host:port. */
function portInUse(host, port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(true));
    probe.listen(port, host, () => probe.close(() => resolve(false)));
  });
}

/** Applies migrations/ not yet recorded in d1_migrations (the table wrangler uses). */
async function applyMigrations(db) {
  await db.prepare(
    "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
  ).run();
  const { results } = await db.prepare("SELECT name FROM d1_migrations").all();
  const applied = new Set(results.map((r) => r.name));
  const fresh = [];
  for (const migration of await readD1Migrations(join(root, "migrations"))) {
    if (!applied.has(migration.name)) {
      await db.batch([
        ...migration.queries.map((q) => db.prepare(q)),
        db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(migration.name),
      ]);
      fresh.push(migration.name);
    }
  }
  return fresh;
}

/**
 * Starts the local system. Options: host, port (0 = any free port), stateDir (on-disk state),
 * vars (extra Worker variables), quiet.
 */
export async function startLocalServer({ host = "127.0.0.1", port = 8787, stateDir = join(root, ".wrangler/state/v3"), vars = {}, quiet = false } = {}) {
  // A folder per start: servers started in parallel (test projects) never share a bundle file.
  mkdirSync(join(root, ".wrangler/local"), { recursive: true });
  const buildDir = mkdtempSync(join(root, ".wrangler/local/build-"));
  const scriptPath = await bundleWorker(buildDir);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
  // The web page's files go behind the Worker (its ASSETS binding), not in front of it: Miniflare
  // serves [assets] through a router Worker that every request, and every WebSocket for its whole
  // life, would pass through (~40 KB more per socket, measured). On Cloudflare the platform
  // matches files before the Worker runs, at no cost to the Worker.
  const { assets, ...worker } = workerOptions;
  const mf = new Miniflare({
    // Miniflare's own entry Worker (which would proxy every request, and every WebSocket frame for
    // the socket's whole life, to ours) listens on a free loopback port that only Miniflare's API
    // calls use. Clients reach the Worker on its own socket below, as on Cloudflare: ~15 % less
    // workerd CPU per frame (measured).
    host: "127.0.0.1",
    port: 0,
    d1Persist: join(stateDir, "d1"),
    durableObjectsPersist: join(stateDir, "do"),
    log: new LocalLog(quiet ? LogLevel.WARN : LogLevel.INFO),
    workers: [
      {
        ...worker,
        name: "gim-edge",
        modules: true,
        scriptPath,
        bindings: { ...worker.bindings, ...LOCAL_VARS, ...vars },
        serviceBindings: { ...worker.serviceBindings, ASSETS: "gim-web" },
        unsafeDirectSockets: [{ host, port }],
      },
      {
        name: "gim-web",
        modules: true,
        script: "export default { fetch: () => new Response(null, { status: 404 }) };",
        compatibilityDate: worker.compatibilityDate,
        assets: { directory: assets.directory, assetConfig: assets.assetConfig, routerConfig: { has_user_worker: false } },
      },
    ],
  });
  try {
    await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    rmSync(buildDir, { recursive: true, force: true });
    // Miniflare does not always say which socket failed (it can report only "failed to start").
    if (port !== 0 && (await portInUse(host, port))) {
      throw new Error(`${host}:${port} is already in use (PORT and HOST choose another)`, { cause: err });
    }
    throw err;
  }
  const url = await mf.unsafeGetDirectURL("gim-edge");
  const migrations = await applyMigrations(await mf.getD1Database("DB"));
  const stop = async () => {
    await mf.dispose();
    rmSync(buildDir, { recursive: true, force: true });
  };
  return { url: url.toString().replace(/\/$/, ""), mf, migrations, stateDir, stop };
}
