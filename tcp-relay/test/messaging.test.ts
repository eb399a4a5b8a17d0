import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Relay } from "../src/relay";
import { baseUrl, connectSignedIn, PT, pb, signIn, startTestRelay, stopRelays, textOf, until } from "./helpers";

let relay: Relay;

beforeAll(async () => {
  relay = await startTestRelay({ tcp: [{ port: 0, framing: "u16" }, { port: 0, framing: "varint" }] });
});
afterAll(stopRelays);

describe("1:1 messages over TCP through the relay", () => {
  it("sends, pushes to the receiver's devices and the sender's other device, and syncs", async () => {
    const alice = await signIn();
    const aliceOther = await signIn(alice.phone);
    const bob = await signIn();
    const bobOther = await signIn(bob.phone);
    const [a1, a2, b1] = await Promise.all([connectSignedIn(relay.ports.tcp[0]!, alice), connectSignedIn(relay.ports.tcp[0]!, aliceOther), connectSignedIn(relay.ports.tcp[1]!, bob, "varint")]);
    // bob's second device is a direct WebSocket client of the Worker: both paths see the same stream.
    const direct = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/ws?user_id=${bobOther.userId}&device_id=${bobOther.deviceId}&token=${bobOther.token}`);
    const directPushes: pb.Message[] = [];
    direct.on("message", (data: Buffer) => {
      const out = pb.Output.decode(data);
      if (out.type === PT.PT_MESSAGE) {
        directPushes.push(pb.MessageSend.decode(out.data).message as pb.Message);
      }
    });
    await new Promise((resolve, reject) => direct.once("open", resolve).once("error", reject));

    const sent = await a1.sendText(bob.userId, "hello bob");
    expect(sent.code).toBe(0);
    const { seq } = pb.SendMessageResp.decode(sent.data);
    expect(seq).toBeGreaterThan(0);

    const [toBob] = await b1.pushes(1);
    expect(textOf(toBob!)).toBe("hello bob");
    expect(toBob!.sender).toMatchObject({ senderId: alice.userId, deviceId: alice.deviceId });
    const [toAliceOther] = await a2.pushes(1);
    expect(toAliceOther!.seq).toBe(seq);
    await until(() => directPushes.length === 1, "the direct socket's push");
    expect(directPushes[0]!.seq).toBe(toBob!.seq);
    expect(a1.pushed()).toHaveLength(0);

    const sync = await b1.request(PT.PT_SYNC, pb.SyncInput.encode({ seq: 0 }).finish());
    const page = pb.SyncOutput.decode(sync.data);
    expect(page.messages.map(textOf)).toEqual(["hello bob"]);
    expect(page.hasMore).toBe(false);
    direct.close();
    [a1, a2, b1].forEach((c) => c.end());
  });

  it("answers PT_HEARTBEAT itself without forwarding it upstream", async () => {
    const alice = await signIn();
    const client = await connectSignedIn(relay.ports.tcp[0]!, alice);
    const before = { ...relay.metrics.listeners.tcp };
    const replies = await Promise.all([1, 2, 3].map(() => client.request(PT.PT_HEARTBEAT)));
    expect(replies.every((r) => r.type === PT.PT_HEARTBEAT && r.code === 0)).toBe(true);
    expect(relay.metrics.listeners.tcp.heartbeatsAnswered - before.heartbeatsAnswered).toBe(3);
    client.end();
  });

  it("acks and keeps per-sender order for a burst of sends", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const [a, b] = await Promise.all([connectSignedIn(relay.ports.tcp[1]!, alice, "varint"), connectSignedIn(relay.ports.tcp[0]!, bob)]);
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const replies = await Promise.all(texts.map((t) => a.sendText(bob.userId, t)));
    expect(replies.every((r) => r.code === 0)).toBe(true);
    const received = await b.pushes(20);
    expect(received.map(textOf)).toEqual(texts);
    b.send(PT.PT_MESSAGE, pb.MessageACK.encode({ deviceAck: received.at(-1)!.seq }).finish(), 0);
    // An ack has no reply; a heartbeat after it proves the stream is still in order and open.
    expect((await b.request(PT.PT_HEARTBEAT)).code).toBe(0);
    a.end();
    b.end();
  });

  it("replaces a push too large for the 2-byte framing with FRAME_TOO_LARGE; varint framing carries it", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const bobVarint = await signIn(bob.phone);
    const a = await connectSignedIn(relay.ports.tcp[1]!, alice, "varint");
    const [b16, bVar] = await Promise.all([connectSignedIn(relay.ports.tcp[0]!, bob), connectSignedIn(relay.ports.tcp[1]!, bobVarint, "varint")]);
    // 65,500 content bytes fit the inbound limit (64 KiB) but the push (sender profile and
    // envelope added) is over the 65,535 bytes a 2-byte length can announce.
    const sent = await a.sendText(bob.userId, "", { content: Buffer.alloc(65_500, 0x41), isPersist: false });
    expect(sent.code).toBe(0);
    const [big] = await bVar.pushes(1);
    expect(big!.messageContent.length).toBe(65_500);
    const notice = await until(() => b16.outputs.find((o) => o.type === PT.PT_MESSAGE), "the replaced push");
    expect(notice).toMatchObject({ requestId: 0, code: 10002 });
    expect(notice.message).toMatch(/does not fit a 2-byte frame/);
    expect((await b16.request(PT.PT_HEARTBEAT)).code).toBe(0);
    [a, b16, bVar].forEach((c) => c.end());
  });
});
