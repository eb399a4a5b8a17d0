import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Relay } from "../src/relay";
import { encodeFrame } from "../src/framing";
import { connectSignedIn, post, PT, pb, pushRoom, signIn, startTestRelay, stopRelays, textOf, uniqueRoom, type Device } from "./helpers";

let relay: Relay;
let alice: Device;

beforeAll(async () => {
  relay = await startTestRelay();
  alice = await signIn();
});
afterAll(stopRelays);

const subscribe = (roomId: number, seq = 0) => pb.SubscribeRoomInput.encode({ roomId, seq }).finish();

describe("rooms over TCP (a room socket per connection)", () => {
  it("subscribes, then merges room pushes onto the TCP stream beside 1:1 pushes", async () => {
    const roomId = uniqueRoom();
    const bob = await signIn();
    const client = await connectSignedIn(relay.ports.tcp[0]!, bob);
    const reply = await client.request(PT.PT_SUBSCRIBE_ROOM, subscribe(roomId));
    expect(reply).toMatchObject({ type: PT.PT_SUBSCRIBE_ROOM, code: 0 });
    await pushRoom(alice, roomId, "to the room");
    const [m] = await client.pushes(1);
    expect(m).toMatchObject({ receiverType: pb.ReceiverType.RT_ROOM, receiverId: roomId, seq: 1 });
    expect(textOf(m!)).toBe("to the room");
    const aliceSocket = await connectSignedIn(relay.ports.tcp[0]!, alice);
    await aliceSocket.sendText(bob.userId, "direct");
    const all = await client.pushes(2);
    expect(all.map(textOf)).toEqual(["to the room", "direct"]);
    client.end();
    aliceSocket.end();
  });

  it("switches rooms in one step and leaves with room_id 0", async () => {
    const [room1, room2] = [uniqueRoom(), uniqueRoom()];
    const bob = await signIn();
    const client = await connectSignedIn(relay.ports.tcp[0]!, bob);
    expect((await client.request(PT.PT_SUBSCRIBE_ROOM, subscribe(room1))).code).toBe(0);
    await pushRoom(alice, room1, "r1 a");
    await client.pushes(1);
    expect((await client.request(PT.PT_SUBSCRIBE_ROOM, subscribe(room2))).code).toBe(0);
    await pushRoom(alice, room1, "r1 b (not for bob any more)");
    await pushRoom(alice, room2, "r2 a");
    await client.pushes(2);
    expect(client.pushed().map(textOf)).toEqual(["r1 a", "r2 a"]);
    expect((await client.request(PT.PT_SUBSCRIBE_ROOM, subscribe(0))).code).toBe(0);
    await pushRoom(alice, room2, "r2 b (after leaving)");
    // A heartbeat round trip plus a short grace: nothing more arrives.
    await client.request(PT.PT_HEARTBEAT);
    await new Promise((r) => setTimeout(r, 300));
    expect(client.pushed().map(textOf)).toEqual(["r1 a", "r2 a"]);
    client.end();
  });

  it("replays the kept messages from the asked seq, after the subscribe reply", async () => {
    const roomId = uniqueRoom();
    for (let i = 1; i <= 4; i++) {
      await pushRoom(alice, roomId, `m${i}`);
    }
    const bob = await signIn();
    const client = await connectSignedIn(relay.ports.tcp[0]!, bob);
    const requestId = client.send(PT.PT_SUBSCRIBE_ROOM, subscribe(roomId, 2));
    const received = await client.pushes(3);
    expect(received.map((m) => m.seq)).toEqual([2, 3, 4]);
    const replyIndex = client.outputs.findIndex((o) => o.requestId === requestId && o.type === PT.PT_SUBSCRIBE_ROOM);
    const firstPush = client.outputs.findIndex((o) => o.type === PT.PT_MESSAGE);
    expect(client.outputs[replyIndex]!.code).toBe(0);
    expect(replyIndex).toBeLessThan(firstPush);
    client.end();
  });

  it("answers a superseded subscription with CANCELLED and the last one with 0", async () => {
    const bob = await signIn();
    const client = await connectSignedIn(relay.ports.tcp[0]!, bob);
    // Both packets in one TCP write: the second arrives before the first room socket opened.
    const frame = (requestId: number) => encodeFrame("u16", pb.Input.encode({ type: PT.PT_SUBSCRIBE_ROOM, requestId, data: subscribe(uniqueRoom()) }).finish());
    client.sendRaw(Buffer.concat([frame(71), frame(72)]));
    const [r1, r2] = await Promise.all([client.reply(71), client.reply(72)]);
    expect([r1.code, r2.code]).toEqual([1, 0]);
    expect(r1.message).toMatch(/superseded/);
    client.end();
  });

  it("answers a refused room socket with the Worker's code and keeps the connection", async () => {
    const bob = await signIn();
    const client = await connectSignedIn(relay.ports.tcp[0]!, bob);
    // A new sign-in of the same device replaces its token: the room upgrade (old token) is refused.
    await post("pb.BusinessExt/SignIn", { phoneNumber: bob.phone, code: "0000", deviceId: String(bob.deviceId) });
    const reply = await client.request(PT.PT_SUBSCRIBE_ROOM, subscribe(uniqueRoom()));
    expect(reply).toMatchObject({ type: PT.PT_SUBSCRIBE_ROOM, code: 10000 });
    expect(reply.message).not.toBe("");
    const bad = await client.request(PT.PT_SUBSCRIBE_ROOM, pb.SubscribeRoomInput.encode({ roomId: -5 }).finish());
    expect(bad.code).toBe(10001);
    expect((await client.request(PT.PT_HEARTBEAT)).code).toBe(0);
    expect(client.closed).toBe(false);
    client.end();
  });
});
