import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- plain ESM build script without type declarations
import { buildRelay } from "../build.mjs";
import { RelayClose } from "../src/codes";
import { connectSignedIn, type Device } from "./helpers";
import { FakeWorker } from "./fake-worker";

let fake: FakeWorker;
let distDir: string;

beforeAll(async () => {
  fake = await new FakeWorker().start();
  distDir = (await buildRelay()) as string;
});
afterAll(async () => {
  await fake.stop();
});

function run(env: Record<string, string>): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(distDir, "main.mjs")], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  child.stdout?.on("data", (d: Buffer) => lines.push(...d.toString().split("\n").filter(Boolean)));
  child.stderr?.on("data", (d: Buffer) => lines.push(...d.toString().split("\n").filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, lines, exited };
}

async function waitLine(lines: string[], pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => pattern.test(l));
    if (line) {
      return line;
    }
    if (Date.now() > deadline) {
      throw new Error(`no log line matching ${pattern}: ${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the relay process (dist/main.mjs)", () => {
  it("starts from the environment, logs JSON, and drains on SIGTERM before exiting 0", async () => {
    const { child, lines, exited } = run({ WORKER_URL: fake.url, RELAY_HOST: "127.0.0.1", TCP_PORT: "0", WS_PORT: "off", GRPC_PORT: "off", METRICS_PORT: "off", DRAIN_SECONDS: "0.5", INSTANCE_ID: "proc-1" });
    try {
      const started = JSON.parse(await waitLine(lines, /relay started/)) as { ports: { tcp: number[] }; instance: string };
      expect(started.instance).toBe("proc-1");
      const device: Device = { userId: 1, deviceId: 2, token: "t", phone: "" };
      const client = await connectSignedIn(started.ports.tcp[0]!, device);
      child.kill("SIGTERM");
      expect((await client.closeNotice()).code).toBe(RelayClose.DRAINING);
      expect(await exited).toBe(0);
      expect(lines.some((l) => /"msg":"relay stopped"/.test(l))).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses an invalid environment with every problem listed and exit status 2", async () => {
    const { lines, exited } = run({ TCP_FRAMING: "json", IDLE_TIMEOUT_SECONDS: "soon" });
    expect(await exited).toBe(2);
    const output = lines.join("\n");
    expect(output).toMatch(/WORKER_URL is required/);
    expect(output).toMatch(/TCP_FRAMING must be u16 or varint/);
    expect(output).toMatch(/IDLE_TIMEOUT_SECONDS must be a number/);
  });
});
