import { afterAll, describe, expect, it } from "vitest";
import { RelayClose } from "../src/codes";
import type { Relay } from "../src/relay";
import { connectSignedIn, PT, signIn, startTestRelay, stopRelays, textOf, until, type TcpClient } from "./helpers";

afterAll(stopRelays);

const BIG = Buffer.alloc(60_000, 0x61);

/** Sends transient 60 KB messages from `sender` to `receiverId` until `done()` (at most 2,000). */
async function flood(sender: TcpClient, receiverId: number, done: () => boolean, afterBatch: () => Promise<void> = async () => {}): Promise<number> {
  let sent = 0;
  while (!done() && sent < 2_000) {
    const replies = await Promise.all(Array.from({ length: 10 }, () => sender.sendText(receiverId, "", { isPersist: false, content: BIG })));
    expect(replies.every((r) => r.code === 0)).toBe(true);
    sent += 10;
    await afterBatch();
  }
  return sent;
}

describe("backpressure", () => {
  it("pauses the upstream for a client that stops reading, closes it as SLOW_CONSUMER, and leaves others alone", async () => {
    const relay: Relay = await startTestRelay({ slowConsumerBytes: 64 * 1024, slowConsumerMs: 500, closeGraceMs: 20_000 });
    const [alice, bob, carol] = await Promise.all([signIn(), signIn(), signIn()]);
    const a = await connectSignedIn(relay.ports.tcp[0]!, alice);
    const slow = await connectSignedIn(relay.ports.tcp[0]!, bob);
    const c = await connectSignedIn(relay.ports.tcp[0]!, carol);
    slow.socket.pause();
    const counters = relay.metrics.listeners.tcp;
    // The kernel's loopback buffers absorb a few MB first; carol gets a message after every batch.
    let toCarol = 0;
    const sent = await flood(a, bob.userId, () => counters.closes.get("SLOW_CONSUMER") === 1, async () => {
      await a.sendText(carol.userId, `batch ${++toCarol}`);
      await c.pushes(toCarol);
    });
    expect(counters.closes.get("SLOW_CONSUMER")).toBe(1);
    expect(counters.upstreamPauses).toBeGreaterThan(0);
    expect(c.pushed().map(textOf)).toEqual(Array.from({ length: toCarol }, (_, i) => `batch ${i + 1}`));
    expect((await c.request(PT.PT_HEARTBEAT)).code).toBe(0);
    // The slow reader, once it reads again, finds the reason as the last frame.
    slow.socket.resume();
    const notice = await slow.closeNotice(20_000);
    expect(notice.code).toBe(RelayClose.SLOW_CONSUMER);
    expect(notice.message).toMatch(/slow consumer: over 65536 bytes unread for 0.5 s/);
    expect(slow.pushed().length).toBeLessThan(sent);
    a.end();
    c.end();
  });

  it("closes at once when frames already read upstream push the queue past MAX_BUFFERED_BYTES", async () => {
    const relay = await startTestRelay({ slowConsumerBytes: 128 * 1024, maxBufferedBytes: 128 * 1024, slowConsumerMs: 60_000, closeGraceMs: 20_000 });
    const [alice, bob] = await Promise.all([signIn(), signIn()]);
    const a = await connectSignedIn(relay.ports.tcp[0]!, alice);
    const slow = await connectSignedIn(relay.ports.tcp[0]!, bob);
    slow.socket.pause();
    const counters = relay.metrics.listeners.tcp;
    await flood(a, bob.userId, () => counters.closes.get("SLOW_CONSUMER") === 1);
    await until(() => counters.closes.get("SLOW_CONSUMER") === 1, "SLOW_CONSUMER close");
    slow.socket.resume();
    const notice = await slow.closeNotice(20_000);
    expect(notice.code).toBe(RelayClose.SLOW_CONSUMER);
    expect(notice.message).toMatch(/over 131072 bytes unread$/);
    a.end();
  });
});
