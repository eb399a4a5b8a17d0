import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelayClose } from "../src/codes";
import type { Relay } from "../src/relay";
import { PT, pb, signIn, startTestRelay, stopRelays, TcpClient, type Device } from "./helpers";

let relay: Relay;
let alice: Device;

beforeAll(async () => {
  relay = await startTestRelay();
  alice = await signIn();
});
afterAll(stopRelays);

describe("TCP sign-in through the relay", () => {
  it("forwards the first PT_SIGN_IN to the Worker and relays its answer (code 0, same request id)", async () => {
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const reply = await client.signIn(alice);
    expect(reply).toMatchObject({ type: PT.PT_SIGN_IN, code: 0 });
    expect(relay.connections()).toBe(1);
    client.end();
    await client.waitClosed();
  });

  it("answers a refused upgrade (wrong token) with the Worker's gim code and message, then closes with AUTH_FAILED", async () => {
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const reply = await client.signIn({ ...alice, token: "forged" });
    expect(reply.type).toBe(PT.PT_SIGN_IN);
    expect(reply.code).toBe(10000);
    expect(reply.message).toMatch(/token|sign in/i);
    const notice = await client.closeNotice();
    expect(notice.code).toBe(RelayClose.AUTH_FAILED);
  });

  it("refuses a first packet other than PT_SIGN_IN with 10000 and closes (PROTOCOL_VIOLATION)", async () => {
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const requestId = client.send(PT.PT_SYNC, pb.SyncInput.encode({ seq: 0 }).finish());
    const reply = await client.reply(requestId);
    expect(reply).toMatchObject({ type: PT.PT_SYNC, code: 10000 });
    expect(reply.message).toMatch(/first packet must be PT_SIGN_IN/);
    expect((await client.closeNotice()).code).toBe(RelayClose.PROTOCOL_VIOLATION);
  });

  it("refuses a PT_SIGN_IN without credentials with 10000 and closes (AUTH_FAILED)", async () => {
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const reply = await client.request(PT.PT_SIGN_IN, pb.SignInInput.encode({ userId: alice.userId }).finish());
    expect(reply).toMatchObject({ type: PT.PT_SIGN_IN, code: 10000 });
    expect((await client.closeNotice()).code).toBe(RelayClose.AUTH_FAILED);
  });

  it("keeps packets pipelined behind the sign-in, in order", async () => {
    const client = await TcpClient.connect(relay.ports.tcp[0]!);
    const signInId = client.send(PT.PT_SIGN_IN, pb.SignInInput.encode({ userId: alice.userId, deviceId: alice.deviceId, token: alice.token }).finish());
    const heartbeatId = client.send(PT.PT_HEARTBEAT);
    const syncId = client.send(PT.PT_SYNC, pb.SyncInput.encode({ seq: 0 }).finish());
    expect((await client.reply(signInId)).code).toBe(0);
    expect((await client.reply(heartbeatId)).code).toBe(0);
    const sync = await client.reply(syncId);
    expect(sync.code).toBe(0);
    expect(pb.SyncOutput.decode(sync.data).messages).toEqual([]);
    client.end();
  });

  it("answers UNAVAILABLE and closes with UPSTREAM_UNAVAILABLE when the Worker cannot be reached", async () => {
    const dead = await startTestRelay({ workerUrl: "http://127.0.0.1:9", upstreamConnectTimeoutMs: 2_000 });
    const client = await TcpClient.connect(dead.ports.tcp[0]!);
    const reply = await client.signIn(alice);
    expect(reply).toMatchObject({ type: PT.PT_SIGN_IN, code: 14 });
    expect(reply.message).toMatch(/upstream unavailable/);
    expect((await client.closeNotice()).code).toBe(RelayClose.UPSTREAM_UNAVAILABLE);
  });
});
