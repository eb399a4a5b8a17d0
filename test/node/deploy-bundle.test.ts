import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

it("builds the deploy bundle with `wrangler deploy --dry-run`, without the local sign-in code", () => {
  const outDir = mkdtempSync(join(tmpdir(), "gim-deploy-"));
  try {
    const output = execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir], {
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    expect(output).toContain("env.USER_INBOX (UserInbox)");
    expect(output).toContain("env.DB (gim)");
    expect(output).not.toContain("DEV_SIGNIN_CODE");
    expect(readFileSync("wrangler.toml", "utf8")).not.toMatch(/^\s*DEV_SIGNIN_CODE\s*=/m);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}, 60_000);
