// Starts one real local server (scripts/local-server.mjs) on a free port with a throwaway state
// folder, once per test project that names this file (node, relay, clients); the tests read its
// URL with inject("baseUrl").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error -- plain ESM script without type declarations
import { startLocalServer } from "../../scripts/local-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    stateDir: string;
  }
}

export default async function setup(project: TestProject) {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const stateDir = mkdtempSync(join(tmpdir(), "gim-tests-"));
  const server = await startLocalServer({ port: 0, stateDir, quiet: true });
  project.provide("baseUrl", server.url);
  project.provide("stateDir", stateDir);
  return async () => {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
}
