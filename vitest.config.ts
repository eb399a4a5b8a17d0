import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Projects: "workers" runs inside workerd (real Durable Objects and D1 under miniflare); "relay",
// "clients" (SDK, CLI, web page in Chromium) and "node" run plain Node tests against a real local
// server (scripts/local-server.mjs).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // Small group and room limits so the cap, a fan-out in progress and several shards are cheap to reach.
                bindings: {
                  DEV_SIGNIN_CODE: "0000",
                  SERVER_SECRET: "test-server-secret",
                  MAX_GROUP_MEMBERS: "50",
                  GROUP_FANOUT_CONCURRENCY: "4",
                  GROUP_DEDUP_MESSAGES: "20",
                  ROOM_SHARD_SIZE: "50",
                  ROOM_REPLAY_SECONDS: "120",
                  TEST_MIGRATIONS: migrations,
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/workers/**/*.test.ts"],
            testTimeout: 30_000,
            setupFiles: ["./test/workers/apply-migrations.ts"],
          },
        },
        {
          test: {
            name: "relay",
            include: ["tcp-relay/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/node/global-setup.ts"],
            testTimeout: 30_000,
            hookTimeout: 60_000,
          },
        },
        {
          test: {
            name: "clients",
            include: ["test/sdk/**/*.test.ts", "test/browser/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/node/global-setup.ts"],
            testTimeout: 60_000,
            hookTimeout: 60_000,
          },
        },
        {
          test: {
            name: "node",
            include: ["test/node/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/node/global-setup.ts"],
            testTimeout: 30_000,
            hookTimeout: 60_000,
          },
        },
      ],
    },
  };
});
