import { afterAll, describe, expect, it } from "vitest";
import { startRelay } from "../src/relay";
import { MemoryStore } from "../src/store";
import { connectSignedIn, expectOnlyHolderReleases, PT, startTestRelay, stopRelays, TcpClient, until, type Device } from "./helpers";
import { FakeWorker } from "./fake-worker";

let fake: FakeWorker | null = null;

afterAll(async () => {
  await stopRelays();
  await fake?.stop();
});

describe("operations: metrics endpoint and structured logs", () => {
  it("serves Prometheus counters by listener, health, fleet and device lookups", async () => {
    fake = await new FakeWorker().start();
    const relay = await startTestRelay({ workerUrl: fake.url, metricsPort: 0, instanceId: "ops-1" });
    const device: Device = { userId: 5, deviceId: 6, token: "t", phone: "" };
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    expect((await client.request(PT.PT_HEARTBEAT)).code).toBe(0);
    const bad = await TcpClient.connect(relay.ports.tcp[0]!);
    bad.sendRaw(Buffer.from([0, 1, 0xff]));
    await bad.waitClosed();

    const base = `http://127.0.0.1:${relay.ports.metrics}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^gim_relay_connections_total\{listener="tcp"\} 2$/m);
    expect(text).toMatch(/^gim_relay_connections_open\{listener="tcp"\} 1$/m);
    expect(text).toMatch(/^gim_relay_frames_in_total\{listener="tcp"\} 3$/m);
    expect(text).toMatch(/^gim_relay_heartbeats_answered_total\{listener="tcp"\} 1$/m);
    expect(text).toMatch(/^gim_relay_bytes_out_total\{listener="tcp"\} \d+$/m);
    expect(text).toMatch(/^gim_relay_errors_total\{listener="tcp",kind="bad_first_packet"\} 1$/m);
    expect(text).toMatch(/^gim_relay_closes_total\{listener="tcp",reason="PROTOCOL_VIOLATION"\} 1$/m);
    expect(text).toMatch(/^gim_relay_process_resident_memory_bytes \d+$/m);
    expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok\n");
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await until(() => relay.info().devices === 1, "device registered");
    expect(await (await fetch(`${base}/devices/6`)).json()).toEqual({ instanceId: "ops-1", userId: 5 });
    expect((await fetch(`${base}/devices/7`)).status).toBe(404);
    const fleet = (await (await fetch(`${base}/fleet`)).json()) as { id: string }[];
    expect(fleet.map((i) => i.id)).toEqual(["ops-1"]);
    client.end();
  });

  it("lets only the connection that registered a device release it (memory store)", async () => {
    await expectOnlyHolderReleases(new MemoryStore("ops-mem", 60_000, 60_000), "ops-mem");
  });

  it("logs JSON lines with the instance id", async () => {
    const lines: string[] = [];
    fake ??= await new FakeWorker().start();
    const relay = await startRelay({ workerUrl: fake.url, host: "127.0.0.1", tcp: [{ port: 0, framing: "u16" }], wsPort: null, grpcPort: null, metricsPort: null, instanceId: "log-1", logLevel: "info" }, { logSink: (_level, line) => lines.push(line) });
    await relay.stop();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.msg)).toEqual(["relay started", "relay draining", "relay stopped"]);
    expect(records.every((r) => r.instance === "log-1" && typeof r.ts === "string" && r.level === "info")).toBe(true);
    expect(records[0]).toMatchObject({ store: "memory", framing: ["u16"] });
  });
});
