import { afterEach, describe, expect, it } from "vitest";
import { RelayClose } from "../src/codes";
import { connectSignedIn, PT, startTestRelay, stopRelays, TcpClient, until, type Device } from "./helpers";
import { FakeWorker } from "./fake-worker";

const device: Device = { userId: 11, deviceId: 22, token: "t", phone: "" };
let fake: FakeWorker;

afterEach(async () => {
  await stopRelays();
  await fake?.stop();
});

async function setup(options: ConstructorParameters<typeof FakeWorker>[0] = {}, relayOptions = {}) {
  fake = await new FakeWorker(options).start();
  const relay = await startTestRelay({ workerUrl: fake.url, ...relayOptions });
  return relay;
}

describe("upstream socket lifecycle (against a scripted fake Worker)", () => {
  it("opens one upstream socket with the credentials in the query and forwards the sign-in packet unchanged", async () => {
    const relay = await setup();
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    expect(fake.connections).toHaveLength(1);
    const [conn] = fake.connections;
    expect(conn!.path).toBe("/ws");
    expect(Object.fromEntries(conn!.query)).toEqual({ user_id: "11", device_id: "22", token: "t" });
    expect(conn!.inputs[0]).toMatchObject({ type: PT.PT_SIGN_IN });
    client.end();
  });

  it("closes the client with the Worker's close code and reason (a Worker close notice, then FIN)", async () => {
    const relay = await setup();
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    fake.connections[0]!.ws.close(4012, "idle timeout: nothing received");
    const notice = await client.closeNotice();
    expect(notice).toMatchObject({ type: PT.PT_UNKNOWN, requestId: 0, code: 4012 });
    expect(notice.message).toBe("upstream closed (4012): idle timeout: nothing received");
  });

  it("maps an abrupt upstream drop to UPSTREAM_UNAVAILABLE (reconnect)", async () => {
    const relay = await setup();
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    fake.connections[0]!.ws.terminate();
    const notice = await client.closeNotice();
    expect(notice.code).toBe(RelayClose.UPSTREAM_UNAVAILABLE);
    expect(notice.message).toMatch(/1006/);
  });

  it("closes the upstream with 1000 when the client goes away", async () => {
    const relay = await setup();
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    client.destroy();
    await until(() => fake.connections[0]!.closed, "upstream close");
    expect(fake.connections[0]!.closed).toEqual({ code: 1000, reason: "client gone" });
    await until(() => relay.connections() === 0, "session removed");
  });

  it("keeps the upstream alive with text pings, answers heartbeats locally, and closes idle clients (IDLE_TIMEOUT)", async () => {
    const relay = await setup({}, { upstreamPingMs: 100, idleTimeoutMs: 1_000 });
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    for (let i = 0; i < 3; i++) {
      expect((await client.request(PT.PT_HEARTBEAT)).code).toBe(0);
      await new Promise((r) => setTimeout(r, 150));
    }
    const conn = fake.connections[0]!;
    expect(conn.texts.filter((t) => t === "ping").length).toBeGreaterThanOrEqual(2);
    expect(conn.inputs.map((i) => i.type)).toEqual([PT.PT_SIGN_IN]);
    const notice = await client.closeNotice(5_000);
    expect(notice.code).toBe(RelayClose.IDLE_TIMEOUT);
    await until(() => conn.closed, "upstream close");
    expect(conn.closed!.code).toBe(1000);
  });

  it("closes with UPSTREAM_UNAVAILABLE when the upstream stops answering pings", async () => {
    const relay = await setup({ answerPings: false }, { upstreamPingMs: 100 });
    const client = await connectSignedIn(relay.ports.tcp[0]!, device);
    const notice = await client.closeNotice(5_000);
    expect(notice.code).toBe(RelayClose.UPSTREAM_UNAVAILABLE);
    expect(notice.message).toMatch(/stopped answering pings/);
  });

  it("answers UNAVAILABLE (14) when the upgrade fails with a server error without a Connect body", async () => {
    const relay = await setup({ refuse: { status: 503, body: "overloaded" } });
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const reply = await client.signIn(device);
    expect(reply).toMatchObject({ type: PT.PT_SIGN_IN, code: 14, message: "sign-in refused: HTTP 503" });
    expect((await client.closeNotice()).code).toBe(RelayClose.UPSTREAM_UNAVAILABLE);
  });

  it("passes the Connect body of a refused upgrade through (gimCode and message)", async () => {
    const relay = await setup({ refuse: { status: 401, body: JSON.stringify({ code: "unauthenticated", message: "token expired", gimCode: 10000 }) } });
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const reply = await client.signIn(device);
    expect(reply).toMatchObject({ type: PT.PT_SIGN_IN, code: 10000, message: "token expired" });
    expect((await client.closeNotice()).code).toBe(RelayClose.AUTH_FAILED);
  });
});
