import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelayClose } from "../src/codes";
import type { Relay } from "../src/relay";
import { connectSignedIn, expectOnlyHolderReleases, signIn, startTestRelay, stopRelays, TcpClient } from "./helpers";
import { startRedisServer, type RedisServer } from "./redis-server";

let redis: RedisServer;
let client: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});
afterAll(async () => {
  await stopRelays();
  client?.disconnect();
  await redis?.stop();
});

const prefix = () => `t${Date.now()}${Math.floor(Math.random() * 1e6)}:`;

describe("Redis: what spans relay instances", () => {
  it("registers the device of a signed-in connection, refreshes it, and removes it on close", async () => {
    const redisPrefix = prefix();
    const relay = await startTestRelay({ redisUrl: redis.url, redisPrefix, instanceId: "relay-a", registryTtlMs: 3_000 });
    const alice = await signIn();
    const socket = await connectSignedIn(relay.ports.tcp[0]!, alice);
    const key = `${redisPrefix}device:${alice.deviceId}`;
    await waitFor(async () => (await client.get(key))?.startsWith(`relay-a ${alice.userId} `) ?? false, "registry entry");
    expect(await relay.store.lookupDevice(alice.deviceId)).toEqual({ instanceId: "relay-a", userId: alice.userId });
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_000);
    // Refreshed at a third of the TTL: still there after more than one TTL.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(await client.get(key)).toMatch(new RegExp(`^relay-a ${alice.userId} `));
    socket.end();
    await waitFor(async () => (await client.exists(key)) === 0, "registry entry removed");
  });

  it("keeps the newer owner when a device moves to another instance (compare-and-delete)", async () => {
    const redisPrefix = prefix();
    const a = await startTestRelay({ redisUrl: redis.url, redisPrefix, instanceId: "relay-a" });
    const b = await startTestRelay({ redisUrl: redis.url, redisPrefix, instanceId: "relay-b" });
    const alice = await signIn();
    const onA = await connectSignedIn(a.ports.tcp[0]!, alice);
    const key = `${redisPrefix}device:${alice.deviceId}`;
    await waitFor(async () => (await client.get(key))?.startsWith("relay-a ") ?? false, "owner a");
    // The same device connects through b: the Worker replaces the older socket (4500), a releases.
    const onB = await connectSignedIn(b.ports.tcp[0]!, alice);
    const notice = await onA.closeNotice();
    expect(notice.code).toBe(RelayClose.REPLACED);
    await waitFor(async () => (await client.get(key))?.startsWith("relay-b ") ?? false, "owner b");
    await new Promise((r) => setTimeout(r, 200));
    expect(await client.get(key)).toMatch(new RegExp(`^relay-b ${alice.userId} `));
    onB.end();
  });

  it("lets only the connection that registered a device release it, on the same instance too", async () => {
    const { store } = await startTestRelay({ redisUrl: redis.url, redisPrefix: prefix(), instanceId: "relay-same" });
    await expectOnlyHolderReleases(store, "relay-same");
  });

  it("lists the fleet with each instance's connection counts, and forgets an instance that stops", async () => {
    const redisPrefix = prefix();
    const a = await startTestRelay({ redisUrl: redis.url, redisPrefix, instanceId: "fleet-a", fleetTtlMs: 1_500 });
    const b = await startTestRelay({ redisUrl: redis.url, redisPrefix, instanceId: "fleet-b", fleetTtlMs: 1_500 });
    const alice = await signIn();
    const socket = await connectSignedIn(a.ports.tcp[0]!, alice);
    await waitFor(async () => (await a.store.fleet()).find((i) => i.id === "fleet-a")?.connections.tcp === 1, "fleet-a announces 1 connection");
    const fleet = await b.store.fleet();
    expect(fleet.map((i) => i.id).sort()).toEqual(["fleet-a", "fleet-b"]);
    expect(fleet.find((i) => i.id === "fleet-a")).toMatchObject({ devices: 1, draining: false });
    await b.stop();
    expect((await a.store.fleet()).map((i) => i.id)).toEqual(["fleet-a"]);
    socket.end();
  });

  it("shares the new-connections-per-address limit between instances", async () => {
    const redisPrefix = prefix();
    const options = { redisUrl: redis.url, redisPrefix, connectionsPerIp: 3, rateWindowMs: 60_000 };
    const a = await startTestRelay({ ...options, instanceId: "rate-a" });
    const b = await startTestRelay({ ...options, instanceId: "rate-b" });
    const open = await Promise.all([a, a, b].map((r) => TcpClient.connect(r.ports.tcp[0]!)));
    await waitFor(async () => Number(await client.get(`${redisPrefix}rate:conn:127.0.0.1`)) === 3, "3 counted");
    const refused = await TcpClient.connect(b.ports.tcp[0]!);
    const notice = await refused.closeNotice();
    expect(notice.code).toBe(RelayClose.RATE_LIMITED);
    expect(notice.message).toMatch(/more than 3 new connections/);
    expect(b.metrics.listeners.tcp.errors.get("rate_limited")).toBe(1);
    open.forEach((c) => c.destroy());
  });

  it("shares the failed-sign-in limit between instances", async () => {
    const redisPrefix = prefix();
    const options = { redisUrl: redis.url, redisPrefix, failedSignInsPerIp: 2 };
    const a = await startTestRelay({ ...options, instanceId: "fail-a" });
    const b = await startTestRelay({ ...options, instanceId: "fail-b" });
    const alice = await signIn();
    for (const relay of [a, b]) {
      const c = await TcpClient.connect(relay.ports.tcp[0]!);
      expect((await c.signIn({ ...alice, token: "wrong" })).code).toBe(10000);
    }
    await waitFor(async () => Number(await client.get(`${redisPrefix}rate:signin-fail:127.0.0.1`)) === 2, "2 failures counted");
    const blocked = await TcpClient.connect(a.ports.tcp[0]!);
    const reply = await blocked.signIn(alice);
    expect(reply).toMatchObject({ code: 8 });
    expect(reply.message).toMatch(/too many failed sign-ins/);
    expect((await blocked.closeNotice()).code).toBe(RelayClose.RATE_LIMITED);
  });

  it("fails open when Redis goes away: connections are still accepted and signed in", async () => {
    const own = await startRedisServer();
    const relay: Relay = await startTestRelay({ redisUrl: own.url, redisPrefix: prefix(), connectionsPerIp: 100 });
    await own.stop();
    const alice = await signIn();
    const socket = await connectSignedIn(relay.ports.tcp[0]!, alice);
    expect(relay.metrics.redisErrors).toBeGreaterThan(0);
    socket.end();
  });

  it("refuses to start when REDIS_URL cannot be reached", async () => {
    await expect(startTestRelay({ redisUrl: "redis://127.0.0.1:9", instanceId: "nowhere" })).rejects.toThrow(/cannot reach Redis/);
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
