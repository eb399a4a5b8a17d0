// The client tests alone (SDK, CLI, web page): `npm run test:clients`. The same block runs as the
// "clients" project of the root vitest.config.ts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "clients",
    include: ["test/sdk/**/*.test.ts", "test/browser/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/sdk/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
