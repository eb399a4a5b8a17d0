import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelayClose } from "../src/codes";
import type { Relay } from "../src/relay";
import { connectSignedIn, PT, pb, signIn, startTestRelay, stopRelays, TcpClient, until, type Device } from "./helpers";

let relay: Relay;
let bystander: TcpClient;
let bob: Device;

beforeAll(async () => {
  relay = await startTestRelay({ tcp: [{ port: 0, framing: "u16" }, { port: 0, framing: "varint" }], readTimeoutMs: 400, signInTimeoutMs: 600 });
  bob = await signIn();
  bystander = await connectSignedIn(relay.ports.tcp[0]!, bob);
});
afterAll(stopRelays);

const u16 = () => relay.ports.tcp[0]!;
const varint = () => relay.ports.tcp[1]!;

/** The signed-in client beside the bad ones keeps working. */
async function bystanderStillWorks(): Promise<void> {
  expect(bystander.closed).toBe(false);
  expect((await bystander.request(PT.PT_HEARTBEAT)).code).toBe(0);
  const sync = await bystander.request(PT.PT_SYNC, pb.SyncInput.encode({ seq: 0 }).finish());
  expect(sync.code).toBe(0);
}

describe("bad input gets a clear outcome and leaves other clients alone", () => {
  it("garbage as the first packet: 10001 BAD_REQUEST, then PROTOCOL_VIOLATION", async () => {
    const client = await TcpClient.connect(u16());
    client.sendRaw(Buffer.from([0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const notice = await client.closeNotice();
    expect(notice.code).toBe(RelayClose.PROTOCOL_VIOLATION);
    expect(client.outputs[0]).toMatchObject({ code: 10001, message: "first packet is not a valid pb.Input" });
    await bystanderStillWorks();
  });

  it("garbage after sign-in is forwarded; the Worker answers 10001 and the connection stays open", async () => {
    const alice = await signIn();
    const client = await connectSignedIn(u16(), alice);
    client.sendRaw(Buffer.from([0x00, 0x03, 0xff, 0xff, 0xff]));
    const error = await until(() => client.outputs.find((o) => o.code === 10001), "the Worker's 10001");
    expect(error.message).not.toBe("");
    expect((await client.request(PT.PT_SYNC, pb.SyncInput.encode({ seq: 0 }).finish())).code).toBe(0);
    expect(client.closed).toBe(false);
    client.end();
  });

  it("a huge varint length prefix: 10002 FRAME_TOO_LARGE, then PROTOCOL_VIOLATION", async () => {
    const client = await TcpClient.connect(varint(), "varint");
    client.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    const notice = await client.closeNotice();
    expect(notice.code).toBe(RelayClose.PROTOCOL_VIOLATION);
    expect(client.outputs[0]).toMatchObject({ code: 10002 });
    expect(client.outputs[0]!.message).toMatch(/4294967295 bytes is over the 65536-byte limit/);
    await bystanderStillWorks();
  });

  it("a varint prefix longer than 5 bytes: 10001, then PROTOCOL_VIOLATION", async () => {
    const client = await TcpClient.connect(varint(), "varint");
    client.sendRaw(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]));
    expect((await client.closeNotice()).code).toBe(RelayClose.PROTOCOL_VIOLATION);
    expect(client.outputs[0]).toMatchObject({ code: 10001 });
  });

  it("a frame over a configured limit on the 2-byte framing: 10002 after sign-in too", async () => {
    const small = await startTestRelay({ maxFrameBytes: 1024 });
    const alice = await signIn();
    const client = await connectSignedIn(small.ports.tcp[0]!, alice);
    client.sendRaw(Buffer.from([0x04, 0x01]));
    const notice = await client.closeNotice();
    expect(notice.code).toBe(RelayClose.PROTOCOL_VIOLATION);
    expect(client.outputs.find((o) => o.code === 10002)?.message).toMatch(/1025 bytes is over the 1024-byte limit/);
  });

  it("a truncated frame followed by a close ends only that connection", async () => {
    const client = await TcpClient.connect(u16());
    client.sendRaw(Buffer.from([0x00, 0x64, 1, 2, 3]));
    client.end();
    await client.waitClosed();
    await bystanderStillWorks();
  });

  it("slowloris: a frame started and never finished is closed after the read timeout (READ_TIMEOUT)", async () => {
    const alice = await signIn();
    const client = await connectSignedIn(u16(), alice);
    client.sendRaw(Buffer.from([0x00, 0x40]));
    // One byte every 100 ms keeps the connection busy but never finishes the 64-byte frame.
    const drip = setInterval(() => !client.closed && client.sendRaw(Buffer.from([0x08])), 100);
    try {
      const notice = await client.closeNotice(5_000);
      expect(notice.code).toBe(RelayClose.READ_TIMEOUT);
      expect(notice.message).toMatch(/unfinished frame/);
    } finally {
      clearInterval(drip);
    }
    await bystanderStillWorks();
  });

  it("a connection that never signs in is closed after the sign-in timeout", async () => {
    const client = await TcpClient.connect(u16());
    const notice = await client.closeNotice(5_000);
    expect(notice.code).toBe(RelayClose.READ_TIMEOUT);
    expect(notice.message).toMatch(/no PT_SIGN_IN/);
  });

  it("a flood of connections from one address is refused past the limit (RATE_LIMITED, single instance in memory)", async () => {
    const limited = await startTestRelay({ connectionsPerIp: 5, rateWindowMs: 60_000 });
    const alice = await signIn();
    const first = await connectSignedIn(limited.ports.tcp[0]!, alice);
    const flood = await Promise.all(Array.from({ length: 10 }, () => TcpClient.connect(limited.ports.tcp[0]!)));
    const notices = await Promise.all(flood.map((c) => c.closeNotice().then((n) => n.code, () => 0)).slice(4));
    expect(notices.filter((code) => code === RelayClose.RATE_LIMITED).length).toBe(6);
    expect(limited.metrics.listeners.tcp.errors.get("rate_limited")).toBe(6);
    // The connection admitted before the flood is unaffected.
    expect((await first.request(PT.PT_HEARTBEAT)).code).toBe(0);
    flood.forEach((c) => c.destroy());
    first.end();
  });

  it("repeated failed sign-ins from one address are refused past the limit (in memory)", async () => {
    const limited = await startTestRelay({ failedSignInsPerIp: 2 });
    const alice = await signIn();
    for (let i = 0; i < 2; i++) {
      const c = await TcpClient.connect(limited.ports.tcp[0]!);
      expect((await c.signIn({ ...alice, token: "wrong" })).code).toBe(10000);
    }
    const c = await TcpClient.connect(limited.ports.tcp[0]!);
    expect((await c.signIn(alice)).code).toBe(8);
    expect((await c.closeNotice()).code).toBe(RelayClose.RATE_LIMITED);
  });
});
