/** The SDK typechecks (browser-only lib: no Node types), and web/gim-sdk.js is built from the current source. */
import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const tsc = `${root}node_modules/.bin/tsc`;

function run(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { cwd: root, encoding: "utf8", stdio: "pipe" });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

it("typechecks the SDK, its tests and the browser tests", { timeout: 120_000 }, () => {
  expect(run(tsc, ["-p", "sdk/tsconfig.json"])).toBe("");
  expect(run(tsc, ["-p", "test/sdk/tsconfig.json"])).toBe("");
});

it("has web/gim-sdk.js built from the current sdk/src (npm run build:sdk)", { timeout: 60_000 }, () => {
  run(process.execPath, ["sdk/build.mjs", "--check"]);
});
