/**
 * Resume without gaps: 1,000 messages flow from one SDK client to another while sockets are cut
 * at random on both sides and the server restarts mid-stream (same state folder and port). Each
 * side must end with exactly the 1,000, in order, once each.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
// @ts-expect-error -- plain ESM script without type declarations
import { startLocalServer } from "../../scripts/local-server.mjs";
import type { GimClient } from "../../sdk/src/client";
import type { WebSocketConstructor } from "../../sdk/src/transport";
import { newClient, recordMessages, textOf, uniquePhone, waitFor } from "./helpers";

const TOTAL = 1_000;
const IN_FLIGHT = 20;

interface LocalServer {
  url: string;
  stop(): Promise<void>;
}

let stateDir: string;
let server: LocalServer;
let port: number;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "gim-resume-"));
  server = await startLocalServer({ port: 0, stateDir, quiet: true });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** A `ws` class that remembers its sockets, so the test can cut them like a network would. */
function trackedWebSocket(sockets: WebSocket[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  } as unknown as WebSocketConstructor;
}

/** Cuts a side's socket once it is open (a cut of a socket already closing would change nothing). */
async function cutOpenSocket(sockets: WebSocket[]): Promise<void> {
  const open = await waitFor(() => sockets.find((ws, i) => i === sockets.length - 1 && ws.readyState === WebSocket.OPEN), "an open socket", 60_000);
  open.terminate();
}

/** A new device of the user with this phone number, connected. */
async function client(phone: string, sockets: WebSocket[] = []): Promise<GimClient> {
  const c = newClient({ baseUrl: server.url, WebSocket: trackedWebSocket(sockets), reconnectMinDelayMs: 20, reconnectMaxDelayMs: 500 });
  await c.signIn({ phoneNumber: phone, code: "0000" });
  await c.connect();
  return c;
}

const WARM_UP = 3;

/** Seq ranges absent from a delivered list, for failure messages: "12-15, 40". */
function missing(messages: { seq: number }[]): string {
  const ranges: string[] = [];
  for (let i = 1; i < messages.length; i++) {
    const [a, b] = [messages[i - 1]!.seq, messages[i]!.seq];
    if (b !== a + 1) {
      ranges.push(b === a + 2 ? `${a + 1}` : `${a + 1}-${b - 1}`);
    }
  }
  return ranges.slice(0, 10).join(", ") || "none";
}

it("delivers 1,000 messages exactly once and in order through random socket cuts and a server restart", { timeout: 240_000 }, async () => {
  // History that other devices acknowledged: the devices under test sync nothing from seq 0 and
  // start at the empty page's last_seq (see InboxCursor); every later sync is from a real seq.
  const [alicePhone, bobPhone] = [uniquePhone(), uniquePhone()];
  const [aliceBefore, bobBefore] = [await client(alicePhone), await client(bobPhone)];
  const seenBefore = recordMessages(bobBefore);
  for (let i = 0; i < WARM_UP; i++) {
    await aliceBefore.sendText({ userId: bobBefore.session!.userId }, `warm-up ${i}`);
  }
  await waitFor(() => seenBefore.length === WARM_UP, "the warm-up at bob's first device");
  aliceBefore.disconnect(); // flushes the ack
  bobBefore.disconnect();

  const aliceSockets: WebSocket[] = [];
  const bobSockets: WebSocket[] = [];
  const alice = await client(alicePhone, aliceSockets);
  const bob = await client(bobPhone, bobSockets);
  expect([alice.lastSeq, bob.lastSeq]).toEqual([WARM_UP, WARM_UP]);
  const atAlice = recordMessages(alice);
  const atBob = recordMessages(bob);

  // Chaos: cut one side's current socket every 50-250 ms (terminate: no close frame, like a dead link).
  let chaos = true;
  const cuts = (async () => {
    for (let cut = 0; chaos; cut++) {
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
      (cut % 2 === 0 ? bobSockets : aliceSockets).at(-1)?.terminate();
    }
  })();

  // The server restarts once mid-stream: the sends after the 400th are made while it is down or starting.
  let restart: Promise<void> = Promise.resolve();
  const sends = new Set<Promise<unknown>>();
  for (let i = 0; i < TOTAL; i++) {
    if (i % 100 === 50) {
      // Besides the random cuts, five sure ones on each side while messages flow.
      await cutOpenSocket(i % 200 === 50 ? bobSockets : aliceSockets);
    }
    if (i === 400) {
      restart = (async () => {
        await server.stop();
        server = await startLocalServer({ port, stateDir, quiet: true });
      })();
    }
    const send = alice.sendText({ userId: bob.session!.userId }, `m${i}`, `resume-${i}`);
    sends.add(send);
    void send.finally(() => sends.delete(send));
    if (sends.size >= IN_FLIGHT) {
      await Promise.race(sends);
    }
  }
  await Promise.all([...sends]);
  await restart;
  const progress = () =>
    `(bob: ${atBob.length} messages, seq ${bob.lastSeq}, ${bob.state}, missing ${missing(atBob)}; ` +
    `alice: ${atAlice.length} messages, seq ${alice.lastSeq}, ${alice.state}, missing ${missing(atAlice)}, ${alice.pendingSends} sends pending)`;
  await waitFor(() => atBob.length >= TOTAL && atAlice.length >= TOTAL, "1,000 messages on both sides", 120_000, progress);
  chaos = false;
  await cuts;

  // One more reconnect and full sync on each side: nothing may arrive twice.
  const settled = (c: GimClient) => new Promise<void>((resolve) => c.on("synced", () => resolve()));
  const bobSettled = settled(bob);
  const aliceSettled = settled(alice);
  await cutOpenSocket(bobSockets);
  await cutOpenSocket(aliceSockets);
  await Promise.all([bobSettled, aliceSettled]);

  const expected = Array.from({ length: TOTAL }, (_, i) => `m${i}`);
  expect(atBob.map(textOf)).toEqual(expected);
  expect(atAlice.map(textOf)).toEqual(expected);
  expect(atBob.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => WARM_UP + i + 1));
  expect(atAlice.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => WARM_UP + i + 1));
  // Each sure cut closed an open socket, so each side opened at least 1 + 5 + 1 sockets.
  expect(bobSockets.length).toBeGreaterThanOrEqual(7);
  expect(aliceSockets.length).toBeGreaterThanOrEqual(7);
  alice.disconnect();
  bob.disconnect();
});
