// The write batching rule on its own: requests that arrive together are applied together, in order.
import { describe, expect, it } from "vitest";
import { Coalescer } from "../../durable-objects/shared/coalescer";

describe("Coalescer", () => {
  it("applies requests added in the same task as one batch, in arrival order", async () => {
    const batches: number[][] = [];
    const coalescer = new Coalescer<number, number>((batch) => {
      batches.push(batch);
      return batch.map((n) => n * 10);
    });
    const first = await Promise.all([coalescer.add(1), coalescer.add(2), coalescer.add(3)]);
    const second = await coalescer.add(4);
    expect(first).toEqual([10, 20, 30]);
    expect(second).toBe(40);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("fails only the bad request when a batch fails: the others are applied alone", async () => {
    const batches: number[][] = [];
    const coalescer = new Coalescer<number, number>((batch) => {
      batches.push(batch);
      if (batch.includes(2)) {
        throw new Error("bad input 2");
      }
      return batch;
    });
    const results = await Promise.allSettled([coalescer.add(1), coalescer.add(2), coalescer.add(3)]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([1, "bad input 2", 3]);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });
});
