/** GimClient against a real local server: chat, multi-device, paged sync, idempotent sends, errors. */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { pb } from "../../proto/gen/pb.js";
import type { GimClient } from "../../sdk/src/client";
import { ErrorCode, GimError } from "../../sdk/src/errors";
import { textContent } from "../../sdk/src/content";
import { baseUrl, newClient, recordMessages, signedIn, textOf, uniquePhone, waitFor } from "./helpers";

const clients: GimClient[] = [];
async function online(options: Parameters<typeof signedIn>[0] = {}, phone?: string): Promise<GimClient> {
  const client = await signedIn(options, phone);
  clients.push(client);
  await client.connect();
  return client;
}

afterEach(() => {
  clients.splice(0).forEach((c) => c.disconnect());
});

describe("GimClient", () => {
  it("delivers a 1:1 text to the receiver, to the sender's other device, and to the sender as its own copy", async () => {
    const phone = uniquePhone();
    const alice = await online({}, phone);
    const aliceTablet = await online({}, phone);
    const bob = await online();
    const [atAlice, atTablet, atBob] = [recordMessages(alice), recordMessages(aliceTablet), recordMessages(bob)];

    const sent = await alice.sendText({ userId: bob.session!.userId }, "hello bob");

    await waitFor(() => atBob.length === 1 && atTablet.length === 1 && atAlice.length === 1, "the message on all three devices");
    expect(textOf(atBob[0]!)).toBe("hello bob");
    expect(atBob[0]!.sender?.senderId).toBe(alice.session!.userId);
    expect(atBob[0]!.clientMsgId).toBe(sent.clientMsgId);
    expect(atAlice[0]!.seq).toBe(sent.seq);
    expect(atTablet[0]!.seq).toBe(sent.seq);
    expect(alice.lastSeq).toBe(sent.seq);
  });

  it("catches up after being offline through paged sync, in order, reporting progress", async () => {
    const bob = await online({ syncPageSize: 100 });
    const alice = await online();
    bob.disconnect();
    for (let i = 0; i < 250; i++) {
      await alice.api.sendMessage({
        receiverType: pb.ReceiverType.RT_USER,
        receiverId: bob.session!.userId,
        messageType: pb.MessageType.MT_TEXT,
        messageContent: textContent(`offline ${i}`),
        isPersist: true,
      });
    }
    const received = recordMessages(bob);
    const progress: number[] = [];
    bob.on("syncProgress", (p) => progress.push(p.received));

    await bob.connect();

    expect(received.map(textOf)).toEqual(Array.from({ length: 250 }, (_, i) => `offline ${i}`));
    expect(progress).toEqual([100, 200, 250]);
    expect(bob.state).toBe("online");
  });

  it("places a new device of a user with acknowledged history at the inbox's current position", async () => {
    const phone = uniquePhone();
    const alice = await online({}, phone);
    const bob = await online();
    for (let i = 0; i < 3; i++) {
      await alice.sendText({ userId: bob.session!.userId }, `before ${i}`);
    }
    const laptop = await online({}, phone); // syncs from 0: after the highest ack, so nothing
    const atLaptop = recordMessages(laptop);
    expect(laptop.lastSeq).toBe(3); // the empty page's last_seq

    const own = await laptop.sendText({ userId: bob.session!.userId }, "from the laptop");
    await bob.sendText({ userId: alice.session!.userId }, "reply");

    await waitFor(() => atLaptop.length === 2, "the laptop's own copy and bob's reply");
    expect(atLaptop.map(textOf)).toEqual(["from the laptop", "reply"]);
    expect(atLaptop.map((m) => m.seq)).toEqual([own.seq, own.seq + 1]);
  });

  it("resumes a new device from where it was placed, not from an ack another device moved meanwhile", async () => {
    const phone = uniquePhone();
    const alice = await online({}, phone);
    const bob = await online();
    for (let i = 0; i < 3; i++) {
      await alice.sendText({ userId: bob.session!.userId }, `before ${i}`);
    }
    const laptop = await online({}, phone);
    expect(laptop.lastSeq).toBe(3);
    laptop.disconnect();

    await bob.sendText({ userId: alice.session!.userId }, "while the laptop was off 1");
    await bob.sendText({ userId: alice.session!.userId }, "while the laptop was off 2");
    await alice.sendText({ userId: bob.session!.userId }, "alice answers"); // acks alice's phone past them
    const atLaptop = recordMessages(laptop);
    await laptop.connect();

    expect(atLaptop.map(textOf)).toEqual(["while the laptop was off 1", "while the laptop was off 2", "alice answers"]);
    expect(atLaptop.map((m) => m.seq)).toEqual([4, 5, 6]);
  });

  it("opens one connection when disconnect and connect come while the seq is still loading", async () => {
    let opened = 0;
    class CountingWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        opened += 1;
      }
    }
    const slowStore = { load: () => new Promise<number>((resolve) => setTimeout(() => resolve(0), 100)), save: () => undefined };
    const client = await signedIn({ WebSocket: CountingWebSocket as unknown as typeof WebSocket, seqStore: slowStore } as never);
    clients.push(client);
    const first = client.connect().catch((err: unknown) => err);
    client.disconnect();
    await client.connect();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 300)); // time for a second socket to show up
    expect(opened).toBe(1);
    expect(client.state).toBe("online");
  });

  it("stores a message once when it is sent again with the same clientMsgId", async () => {
    const alice = await online();
    const bob = await online();
    const atBob = recordMessages(bob);
    const first = await alice.sendText({ userId: bob.session!.userId }, "once", "retry-1");
    const again = await alice.sendText({ userId: bob.session!.userId }, "once", "retry-1");
    await alice.sendText({ userId: bob.session!.userId }, "after");

    expect(again.seq).toBe(first.seq);
    await waitFor(() => atBob.length === 2, "two messages at bob");
    expect(atBob.map(textOf)).toEqual(["once", "after"]);
  });

  it("delivers friend requests as typed notifications and group messages to every member", async () => {
    const alice = await online();
    const bob = await online();
    const notices = [] as { code: number; push: unknown }[];
    bob.on("notification", (n) => notices.push(n));

    await alice.api.addFriend({ friendId: bob.session!.userId, description: "hi, it's alice" });
    const request = await waitFor(() => notices.find((n) => n.code === pb.PushCode.PC_ADD_FRIEND), "the friend request");
    expect(request.push).toMatchObject({ friendId: alice.session!.userId, description: "hi, it's alice" });
    await bob.api.agreeAddFriend({ userId: alice.session!.userId });
    expect((await alice.api.getFriends()).map((f) => f.userId)).toContain(bob.session!.userId);

    const groupId = await alice.api.createGroup({ name: "tea", memberIds: [bob.session!.userId] });
    const atBob = recordMessages(bob);
    await alice.sendText({ groupId }, "to the group");
    const got = await waitFor(() => atBob.find((m) => textOf(m) === "to the group"), "the group message");
    expect(got.receiverType).toBe(pb.ReceiverType.RT_GROUP);
    expect(got.receiverId).toBe(groupId);
  });

  it("receives the messages of a joined room, and replays them for a late joiner", async () => {
    const roomId = 700_000 + Math.floor(Math.random() * 100_000);
    const alice = await online();
    const bob = await online();
    const atBob: string[] = [];
    bob.on("roomMessage", (m) => atBob.push(textOf(m)));
    await bob.joinRoom(roomId);

    await alice.pushRoom(roomId, "welcome");
    await waitFor(() => atBob.includes("welcome"), "the room message at bob");

    const carol = await online();
    const atCarol: string[] = [];
    carol.on("roomMessage", (m) => atCarol.push(textOf(m)));
    await carol.joinRoom(roomId, { fromSeq: 1 });
    await waitFor(() => atCarol.includes("welcome"), "the replay at carol");
  });

  it("fails a send with the server's code and keeps the connection", async () => {
    const alice = await online();
    const err = await alice.sendText({ userId: 999_999_999 }, "nobody").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GimError);
    expect((err as GimError).code).toBe(ErrorCode.USER_NOT_FOUND);
    expect(alice.state).toBe("online");
  });

  it("stops for good when another connection of the same device takes over (4500)", async () => {
    const alice = await online();
    const closed = new Promise<{ code: number; terminal: boolean }>((resolve) => alice.on("closed", resolve));
    const { userId, deviceId, token } = alice.session!;
    const other = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/ws?user_id=${userId}&device_id=${deviceId}&token=${token}`);
    await new Promise((resolve, reject) => other.once("open", resolve).once("error", reject));

    expect(await closed).toMatchObject({ code: 4500, terminal: true });
    expect(alice.state).toBe("closed");
    other.close();
  });

  it("rejects connect when the token is not accepted, without retrying", async () => {
    const alice = await signedIn();
    const client = newClient({ session: { ...alice.session!, token: "forged" } });
    const states: string[] = [];
    client.on("state", (s) => states.push(s.state));

    const err = await client.connect().catch((e: unknown) => e);

    expect((err as GimError).code).toBe(ErrorCode.UNAUTHORIZED);
    expect(states).toEqual(["connecting", "closed"]);
  });
});
