/** InboxCursor: the sync/push window rules of proto/README.md, without a network. */
import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { InboxCursor } from "../../sdk/src/inbox-cursor";

function harness(lastSeq = 0) {
  const delivered: number[] = [];
  const syncRequests: number[] = [];
  let syncedCount = 0;
  const state = { inFlight: 0 };
  const cursor = new InboxCursor(lastSeq, {
    deliver: (messages) => delivered.push(...messages.map((m) => m.seq)),
    requestSync: (seq) => syncRequests.push(seq),
    synced: () => (syncedCount += 1),
    sendsInFlight: () => state.inFlight,
  });
  return { cursor, delivered, syncRequests, synced: () => syncedCount, state };
}

const msg = (seq: number) => pb.Message.create({ seq });
const page = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

describe("InboxCursor", () => {
  it("syncs from its last seq on start and pages until has_more is false", () => {
    const h = harness(10);
    h.cursor.start();
    expect(h.syncRequests).toEqual([10]);
    h.cursor.syncPage(page(11, 12), true);
    expect(h.syncRequests).toEqual([10, 12]);
    h.cursor.syncPage(page(13, 13), false);
    expect(h.delivered).toEqual([11, 12, 13]);
    expect(h.synced()).toBe(1);
    expect(h.cursor.lastSeq).toBe(13);
  });

  it("holds pushes during a sync and releases the ones the sync did not bring, in seq order", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.push(msg(3)); // raced the sync page that carries it
    h.cursor.push(msg(5));
    h.cursor.push(msg(4));
    expect(h.delivered).toEqual([]);
    h.cursor.syncPage(page(1, 3), false);
    expect(h.delivered).toEqual([1, 2, 3, 4, 5]);
    expect(h.synced()).toBe(1);
  });

  it("starts a sync on a gap and delivers nothing twice", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false);
    h.cursor.push(msg(1));
    h.cursor.push(msg(3)); // 2 was missed
    expect(h.delivered).toEqual([1]);
    expect(h.syncRequests).toEqual([0, 1]);
    h.cursor.push(msg(4)); // held: a sync is running
    h.cursor.syncPage(page(2, 3), false);
    expect(h.delivered).toEqual([1, 2, 3, 4]);
    h.cursor.push(msg(4));
    h.cursor.push(msg(2));
    expect(h.delivered).toEqual([1, 2, 3, 4]);
  });

  it("syncs again when the held pushes leave a gap after the last page", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.push(msg(4));
    h.cursor.syncPage(page(1, 2), false);
    expect(h.delivered).toEqual([1, 2]);
    expect(h.syncRequests).toEqual([0, 2]);
    expect(h.synced()).toBe(0);
    h.cursor.syncPage(page(3, 4), false);
    expect(h.delivered).toEqual([1, 2, 3, 4]);
    expect(h.synced()).toBe(1);
  });

  it("delivers transient (seq 0) messages at once and never moves the seq for them", () => {
    const h = harness(7);
    h.cursor.start();
    h.cursor.push(msg(0));
    expect(h.delivered).toEqual([0]);
    expect(h.cursor.lastSeq).toBe(7);
  });

  it("forgets held pushes and ignores stale pages after stop; the next start syncs again", () => {
    const h = harness(2);
    h.cursor.start();
    h.cursor.push(msg(3));
    h.cursor.stop();
    h.cursor.syncPage(page(3, 3), false);
    expect(h.delivered).toEqual([]);
    h.cursor.start();
    expect(h.syncRequests).toEqual([2, 2]);
    h.cursor.syncPage(page(3, 3), false);
    expect(h.delivered).toEqual([3]);
  });

  it("accepts a first page that starts past last seq + 1 (seq 0 starts after the highest ack)", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage(page(41, 42), false);
    expect(h.delivered).toEqual([41, 42]);
    h.cursor.push(msg(43));
    expect(h.delivered).toEqual([41, 42, 43]);
  });

  it("at seq 0 with nothing synced, starts at the first push (seq 0 means after the highest ack)", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false);
    expect(h.synced()).toBe(1);
    h.cursor.push(msg(8));
    h.cursor.push(msg(9));
    expect(h.delivered).toEqual([8, 9]);
    expect(h.syncRequests).toEqual([0]);
  });

  it("at seq 0, an empty sync places it at the inbox's last seq, and it syncs from there later", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false, 7);
    expect(h.cursor.lastSeq).toBe(7);
    expect(h.synced()).toBe(1);
    h.cursor.push(msg(8));
    expect(h.delivered).toEqual([8]);
    h.cursor.stop();
    h.cursor.start();
    expect(h.syncRequests).toEqual([0, 8]);
    h.cursor.syncPage(page(9, 10), false, 10);
    expect(h.delivered).toEqual([8, 9, 10]);
  });

  it("at seq 0, does not place itself at the inbox's last seq while an own send awaits its reply", () => {
    const h = harness(0);
    h.cursor.start();
    h.state.inFlight = 1;
    h.cursor.syncPage([], false, 7); // our send may already have seq 7, acked for this device
    expect(h.cursor.lastSeq).toBe(0);
    expect(h.synced()).toBe(1);
    h.cursor.push(msg(7)); // its reply
    h.state.inFlight = 0;
    h.cursor.settle();
    expect(h.delivered).toEqual([7]);
    expect(h.cursor.lastSeq).toBe(7);
  });

  it("at seq 0 with nothing synced, waits for the reply of an own send that may come after a higher push", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false);
    h.state.inFlight = 1;
    h.cursor.push(msg(6)); // another device's message, pushed before the reply to our send (seq 5)
    expect(h.delivered).toEqual([]);
    h.cursor.push(msg(5)); // our own copy, built from the reply
    h.state.inFlight = 0;
    h.cursor.settle();
    expect(h.delivered).toEqual([5, 6]);
    h.cursor.push(msg(7));
    expect(h.delivered).toEqual([5, 6, 7]);
  });

  it("at seq 0 and not yet placed, keeps what it saw across reconnects and places itself at the lowest seq", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false);
    h.state.inFlight = 2;
    h.cursor.push(msg(11)); // own send, replied
    h.cursor.push(msg(13)); // someone else's, pushed before the reply to our send with seq 12
    h.cursor.stop(); // the reply for 12 is lost with the connection
    h.cursor.start();
    h.cursor.push(msg(12)); // the resent send's reply: the original seq
    h.cursor.syncPage(page(14, 14), false); // seq 0 now starts past our acked sends
    expect(h.delivered).toEqual([]);
    expect(h.synced()).toBe(2);
    h.state.inFlight = 0;
    h.cursor.settle();
    expect(h.delivered).toEqual([11, 12, 13, 14]);
    expect(h.syncRequests).toEqual([0, 0]);
  });

  it("at seq 0 and not yet placed, gets pushes lost with a dropped connection from the next sync", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false);
    h.cursor.stop(); // the push of 4 goes down with this connection
    h.cursor.start();
    h.cursor.push(msg(5));
    h.cursor.push(msg(6));
    h.cursor.stop(); // before the sync's reply
    h.cursor.start();
    h.cursor.syncPage(page(4, 6), false);
    expect(h.delivered).toEqual([4, 5, 6]);
    expect(h.syncRequests).toEqual([0, 0, 0]);
  });

  it("fetches the gaps between held seqs once it places itself", () => {
    const h = harness(0);
    h.cursor.start();
    h.cursor.syncPage([], false);
    h.state.inFlight = 1;
    h.cursor.push(msg(11));
    h.cursor.push(msg(13));
    h.state.inFlight = 0;
    h.cursor.settle();
    expect(h.delivered).toEqual([11]);
    expect(h.syncRequests).toEqual([0, 11]);
    h.cursor.syncPage(page(12, 13), false);
    expect(h.delivered).toEqual([11, 12, 13]);
  });
});
