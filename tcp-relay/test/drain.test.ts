import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RelayClose } from "../src/codes";
import { connectSignedIn, pb, PT, startTestRelay, stopRelays, until, type Device } from "./helpers";
import { FakeWorker } from "./fake-worker";

let fake: FakeWorker;

beforeAll(async () => {
  fake = await new FakeWorker().start();
});
afterAll(async () => {
  await stopRelays();
  await fake.stop();
});

const device = (i: number): Device => ({ userId: 100 + i, deviceId: 200 + i, token: "t", phone: "" });

describe("graceful drain (SIGTERM → stop({ drainMs }))", () => {
  it("stops accepting, reports not ready, and closes every client with DRAINING spread over the window", async () => {
    const relay = await startTestRelay({ workerUrl: fake.url, wsPort: 0, metricsPort: 0 });
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => connectSignedIn(relay.ports.tcp[0]!, device(i))));
    const web = new WebSocket(`ws://127.0.0.1:${relay.ports.ws}/ws`);
    await new Promise((resolve, reject) => web.once("open", resolve).once("error", reject));
    web.send(pb.Input.encode({ type: PT.PT_SIGN_IN, requestId: 1, data: pb.SignInInput.encode({ userId: 1, deviceId: 2, token: "t" }).finish() }).finish());
    const webClosed = new Promise<number>((resolve) => web.once("close", resolve));
    await until(() => relay.connections() === 11, "11 connections");

    const closedAt: number[] = [];
    clients.forEach((c) => c.socket.once("close", () => closedAt.push(Date.now())));
    const stopped = relay.stop({ drainMs: 1_000 });
    const ready = await fetch(`http://127.0.0.1:${relay.ports.metrics}/readyz`);
    expect(ready.status).toBe(503);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ port: relay.ports.tcp[0]!, host: "127.0.0.1" });
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      socket.once("connect", () => resolve("connected"));
    });
    expect(refused).toBe("ECONNREFUSED");
    await stopped;

    for (const client of clients) {
      const notice = await client.closeNotice();
      expect(notice.code).toBe(RelayClose.DRAINING);
    }
    expect(await webClosed).toBe(RelayClose.DRAINING);
    // Spread over the window rather than all at once, so clients reconnect gradually.
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThanOrEqual(500);
    await until(() => fake.connections.every((c) => c.closed?.code === 1000), "upstream sockets closed with 1000");
    expect(relay.connections()).toBe(0);
  });

  it("stop() without a window closes everyone at once and can be called twice", async () => {
    const relay = await startTestRelay({ workerUrl: fake.url });
    const clients = await Promise.all([0, 1, 2].map((i) => connectSignedIn(relay.ports.tcp[0]!, device(50 + i))));
    await Promise.all([relay.stop(), relay.stop()]);
    for (const client of clients) {
      expect((await client.closeNotice()).code).toBe(RelayClose.DRAINING);
    }
  });
});
