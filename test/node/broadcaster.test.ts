// The room broadcaster's scheduling, with a send function standing in for the target objects.
import { describe, expect, it, vi } from "vitest";
import { Broadcaster } from "../../durable-objects/chat-room/broadcaster";
import type { RoomItem } from "../../durable-objects/chat-room/catch-up";

const item = (seq: number): RoomItem => ({ seq, body: new Uint8Array([seq]) });

describe("room broadcaster", () => {
  it("keeps delivering to every other target while one target hangs", async () => {
    const received = new Map<string, number[]>();
    let releaseSlow: () => void = () => undefined;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const broadcaster = new Broadcaster(
      async (key, items) => {
        if (key === "shard:slow") {
          await slowGate;
        }
        received.set(key, [...(received.get(key) ?? []), ...items.map((i) => i.seq)]);
        return 1;
      },
      { batchItems: 10, maxBacklog: 1000 },
      () => undefined,
      () => undefined,
    );
    const targets = ["shard:0", "shard:slow", "shard:1"];
    for (let seq = 1; seq <= 30; seq++) {
      broadcaster.publish(targets, item(seq), false);
      await Promise.resolve();
    }
    await new Promise((r) => setTimeout(r, 20));
    const all = Array.from({ length: 30 }, (_, i) => i + 1);
    expect(received.get("shard:0")).toEqual(all);
    expect(received.get("shard:1")).toEqual(all);
    expect(received.get("shard:slow")).toBeUndefined();
    releaseSlow();
    await new Promise((r) => setTimeout(r, 20));
    expect(received.get("shard:slow")).toEqual(all);
  });

  it("drops a target that falls too far behind and reports it dropped", async () => {
    const dropped: string[] = [];
    const broadcaster = new Broadcaster(() => new Promise<number>(() => undefined), { batchItems: 5, maxBacklog: 20 }, () => undefined, (key) => dropped.push(key));
    for (let seq = 1; seq <= 40; seq++) {
      broadcaster.publish(["shard:stuck"], item(seq), false);
    }
    expect(dropped).toEqual(["shard:stuck"]);
  });

  it("drops a target whose delivery failed every attempt and reports it dropped, not counted", async () => {
    const dropped: string[] = [];
    const counts: [string, number][] = [];
    const broadcaster = new Broadcaster(
      async (key) => {
        if (key === "shard:down") {
          throw new Error("down");
        }
        return 3;
      },
      { batchItems: 5, maxBacklog: 20 },
      (key, n) => counts.push([key, n]),
      (key) => dropped.push(key),
    );
    broadcaster.publish(["shard:down", "shard:up"], item(1), false);
    await vi.waitFor(() => expect(dropped).toEqual(["shard:down"]), { timeout: 2_000 });
    expect(counts).toEqual([["shard:up", 3]]);
  });

  it("sends priority items ahead of normal ones still queued", async () => {
    const order: number[] = [];
    let first = true;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const broadcaster = new Broadcaster(
      async (_key, items) => {
        if (first) {
          first = false;
          await gate;
        }
        order.push(...items.map((i) => i.seq));
        return 1;
      },
      { batchItems: 100, maxBacklog: 1000 },
      () => undefined,
      () => undefined,
    );
    broadcaster.publish(["shard:0"], item(1), false); // in flight
    for (let seq = 2; seq <= 5; seq++) {
      broadcaster.publish(["shard:0"], item(seq), false);
    }
    broadcaster.publish(["shard:0"], item(6), true);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([1, 6, 2, 3, 4, 5]);
  });
});
