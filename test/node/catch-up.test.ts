// The replay seam rules, on their own: what a subscriber gets around its replay.
import { describe, expect, it } from "vitest";
import { CatchUp, type RoomItem } from "../../durable-objects/chat-room/catch-up";

const items = (...seqs: number[]): RoomItem[] => seqs.map((seq) => ({ seq, body: new Uint8Array([seq]) }));
const seqs = (list: RoomItem[]) => list.map((item) => item.seq);

describe("replay seam", () => {
  it("holds live items during the replay and releases those the replay lacks", () => {
    const catchUp = new CatchUp(3);
    expect(catchUp.offer(items(5, 6))).toEqual([]);
    expect(seqs(catchUp.finish(items(3, 4, 5)))).toEqual([3, 4, 5, 6]);
  });

  it("drops a live item the replay already carried when it arrives after the replay (no duplicate)", () => {
    const catchUp = new CatchUp(3);
    const released = catchUp.finish(items(3, 4, 5, 6));
    expect(seqs(released)).toEqual([3, 4, 5, 6]);
    // 6 was stored before the replay was read but its broadcast reaches us only now.
    expect(seqs(catchUp.offer(items(6, 7)))).toEqual([7]);
    expect(catchUp.passed(items(6, 7))).toBe(false);
    expect(catchUp.passed(items(8))).toBe(true);
  });

  it("always passes transient items (seq 0) and never older ones than asked for", () => {
    const catchUp = new CatchUp(10);
    catchUp.offer(items(0, 9));
    expect(seqs(catchUp.finish([]))).toEqual([0]);
    expect(seqs(catchUp.offer(items(8, 0, 11)))).toEqual([0, 11]);
  });
});
