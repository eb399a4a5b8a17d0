import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Relay } from "../src/relay";
import { FakeWorker } from "./fake-worker";
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

  it("gets a message too large for a 2-byte frame refused at the source; the largest stored one fits", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const a = await connectSignedIn(relay.ports.tcp[1]!, alice, "varint");
    const b16 = await connectSignedIn(relay.ports.tcp[0]!, bob);
    // 65,500 content bytes fit the inbound limit (64 KiB), but not a sync reply or a push once
    // the sender's profile and ids are around them: the Worker does not store such a message.
    const refused = await a.sendText(bob.userId, "", { content: Buffer.alloc(65_500, 0x41) });
    expect(refused.code).toBe(10001);
    expect((await a.sendText(bob.userId, "", { content: Buffer.alloc(64_800, 0x42) })).code).toBe(0);
    const [pushed] = await b16.pushes(1);
    expect(pushed!.messageContent.length).toBe(64_800);
    const page = pb.SyncOutput.decode((await b16.request(PT.PT_SYNC, pb.SyncInput.encode({ seq: 0 }).finish())).data);
    expect(page.messages.map((m) => m.messageContent?.length)).toEqual([64_800]);
    [a, b16].forEach((c) => c.end());
  });
});

describe("a frame from upstream too large for the 2-byte framing", () => {
  it("reaches a u16 client as FRAME_TOO_LARGE and a varint client whole", async () => {
    const fake = await new FakeWorker().start();
    const fakeRelay = await startTestRelay({ workerUrl: fake.url, tcp: [{ port: 0, framing: "u16" }, { port: 0, framing: "varint" }] });
    try {
      const device = { userId: 7, deviceId: 8, token: "t", phone: "" };
      const [u16, varint] = [await connectSignedIn(fakeRelay.ports.tcp[0]!, device), await connectSignedIn(fakeRelay.ports.tcp[1]!, device, "varint")];
      const big = pb.MessageSend.encode({ message: { messageContent: Buffer.alloc(70_000, 0x43) } }).finish();
      await until(() => fake.connections.length === 2, "both upstream sockets");
      for (const upstream of fake.connections) {
        upstream.ws.send(pb.Output.encode({ type: PT.PT_MESSAGE, requestId: 0, data: big }).finish());
      }
      const notice = await until(() => u16.outputs.find((o) => o.type === PT.PT_MESSAGE), "the replaced push");
      expect(notice).toMatchObject({ requestId: 0, code: 10002 });
      expect(notice.message).toMatch(/does not fit a 2-byte frame/);
      const [whole] = await varint.pushes(1);
      expect(whole!.messageContent.length).toBe(70_000);
      expect((await u16.request(PT.PT_HEARTBEAT)).code).toBe(0);
      [u16, varint].forEach((c) => c.end());
    } finally {
      await fakeRelay.stop();
      await fake.stop();
    }
  });
});
