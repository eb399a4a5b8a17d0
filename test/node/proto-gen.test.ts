import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";

it("has proto/gen up to date with proto/*.proto", () => {
  // Regenerates into a temporary folder and compares; exits non-zero when stale.
  expect(() => execFileSync("node", ["scripts/gen-proto.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
});
