// Builds the relay for Node 20 (which cannot run TypeScript) with esbuild, in about 100 ms:
//   node tcp-relay/build.mjs            -> tcp-relay/dist/{relay,main}.mjs, npm packages imported from node_modules
//   node tcp-relay/build.mjs --bundle   -> the same, self-contained (npm packages inlined; for the container image)
// `loadRelay()` builds and imports the relay module (used by scripts/start.mjs and bench/relay.mjs).
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
export const distDir = `${here}dist`;

/** Builds dist/relay.mjs (startRelay, loadConfig, …) and dist/main.mjs (the process entry). */
export async function buildRelay({ bundle = false } = {}) {
  const { metafile } = await build({
    metafile: true,
    entryPoints: { relay: `${here}src/index.ts`, main: `${here}src/main.ts` },
    outdir: distDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    ...(bundle
      ? {
          // CommonJS packages inlined into ESM still call require() for Node built-ins.
          banner: { js: 'import { createRequire as __relayRequire } from "node:module"; const require = __relayRequire(import.meta.url);' },
          // Optional native helpers of ws; it falls back to JavaScript without them.
          external: ["bufferutil", "utf-8-validate"],
        }
      : { packages: "external" }),
  });
  // Drop chunks of earlier builds (new files are written before old ones go: no missing-file window).
  const fresh = new Set(Object.keys(metafile.outputs).map((f) => basename(f)));
  readdirSync(distDir).filter((f) => !fresh.has(f)).forEach((f) => rmSync(`${distDir}/${f}`, { force: true }));
  return distDir;
}

/** Builds, then imports the relay module: `const { startRelay } = await loadRelay();`. */
export async function loadRelay() {
  await buildRelay();
  return import(pathToFileURL(`${distDir}/relay.mjs`).href);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildRelay({ bundle: process.argv.includes("--bundle") });
  console.log(`built ${out}/main.mjs and ${out}/relay.mjs`);
}
