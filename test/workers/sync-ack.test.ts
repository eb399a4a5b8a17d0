import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { userInbox } from "../../workers/stubs";
import { call, connect, ok, sendText, signIn, syncAll, syncPage, text, uniquePhone } from "./helpers";

async function inboxWith(count: number, size = 1) {
  const alice = await signIn();
  const bob = await signIn();
  for (let i = 1; i <= count; i++) {
    await sendText(alice, bob.userId, size > 1 ? `${i}`.padEnd(size, ".") : `m${i}`);
  }
  return { alice, bob };
}

function ack(socket: Awaited<ReturnType<typeof connect>>, seq: number) {
  socket.send(pb.PackageType.PT_MESSAGE, 0, pb.MessageACK.encode({ deviceAck: seq, receiveTime: Date.now() }).finish());
}

describe("offline sync", () => {
  it("pages 50 messages at a time by default, in seq order, with has_more", async () => {
    const { bob } = await inboxWith(120);
    const socket = await connect(bob);
    const first = await syncPage(socket, 0);
    expect(first.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(first.hasMore).toBe(true);
    const { messages, pages } = await syncAll(socket, 0);
    expect(pages).toBe(3);
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(messages.map(text)).toEqual(Array.from({ length: 120 }, (_, i) => `m${i + 1}`));
    const last = await syncPage(socket, 120);
    expect(last.messages).toHaveLength(0);
    expect(last.hasMore).toBe(false);
  });

  it("honours a requested page size, capped at 500", async () => {
    const { bob } = await inboxWith(30);
    const socket = await connect(bob);
    const small = await syncPage(socket, 10, 7);
    expect(small.messages.map((m) => m.seq)).toEqual([11, 12, 13, 14, 15, 16, 17]);
    expect(small.hasMore).toBe(true);
    const big = await syncPage(socket, 0, 100_000);
    expect(big.messages).toHaveLength(30);
    expect(big.hasMore).toBe(false);
  });

  it("caps a page at 500 messages whatever the client asks", async () => {
    const bob = await signIn();
    const encoded = pb.Message.encode({ messageType: pb.MessageType.MT_TEXT, messageContent: pb.Text.encode({ text: "x" }).finish() }).finish();
    // Copies delivered straight to the inbox, as other inboxes do: 520 small messages.
    await userInbox(env, bob.userId).deliver(Array.from({ length: 520 }, (_, i) => ({ msgId: `cap:${bob.userId}:${i}`, body: encoded })));
    const socket = await connect(bob);
    const page = await syncPage(socket, 0, 100_000);
    expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(page.hasMore).toBe(true);
    expect((await syncPage(socket, 500, 100_000)).messages).toHaveLength(20);
  });

  it("stops a page under 64 KiB, so the reply fits one gim TCP frame, and says there is more", async () => {
    const { bob } = await inboxWith(12, 10_000);
    const socket = await connect(bob);
    const page = await syncPage(socket, 0, 500);
    expect(page.messages.length).toBe(6);
    const reply = pb.Output.encode({ type: pb.PackageType.PT_SYNC, requestId: 2 ** 31, data: pb.SyncOutput.encode(page).finish() }).finish();
    expect(reply.length).toBeLessThanOrEqual(65_535);
    expect(page.hasMore).toBe(true);
    expect((await syncAll(socket, 0, 500)).messages.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("refuses a message too large to store and syncs the largest it stores in one gim TCP frame", async () => {
    const alice = await signIn();
    const bob = await signIn();
    await ok("pb.BusinessExt/UpdateUser", { nickname: "n".repeat(60), avatarUrl: `https://${"a".repeat(200)}` }, alice);
    const send = (bytes: number) =>
      call(
        "pb.LogicExt/SendMessage",
        { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: btoa("x".repeat(bytes)), isPersist: true, clientMsgId: "c".repeat(128) },
        alice,
      );
    const tooLarge = await send(64_900); // under MAX_FRAME_BYTES, but not with the profile around it
    expect(tooLarge.body).toMatchObject({ code: "invalid_argument", gimCode: 10001, message: expect.stringContaining("at most 64985") });
    expect((await send(64_500)).status).toBe(200);

    const socket = await connect(bob);
    socket.send(pb.PackageType.PT_SYNC, 2 ** 31, pb.SyncInput.encode({ seq: 0 }).finish());
    const reply = await socket.reply(2 ** 31);
    expect(pb.SyncOutput.decode(reply.data).messages).toHaveLength(1);
    expect(pb.Output.encode(reply).finish().length).toBeLessThanOrEqual(65_535);
  });

  it("starts a seq-0 sync after the highest ack among the user's devices", async () => {
    const phone = uniquePhone();
    const bob1 = await signIn(phone);
    const bob2 = await signIn(phone);
    const alice = await signIn();
    for (let i = 1; i <= 10; i++) {
      await sendText(alice, bob1.userId, `m${i}`);
    }
    const s1 = await connect(bob1);
    ack(s1, 4);
    const s2 = await connect(bob2);
    ack(s2, 7);
    await syncPage(s2, 0); // round trip: the acks are applied before this reply
    await syncPage(s1, 0);
    expect((await syncPage(s1, 0)).messages.map((m) => m.seq)).toEqual([8, 9, 10]);
    expect((await syncPage(s1, 2)).messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe("last seq", () => {
  it("tells the inbox's last seq in every page, also when a seq-0 sync has nothing left", async () => {
    const { bob } = await inboxWith(5);
    const socket = await connect(bob);
    const page = await syncPage(socket, 2, 2);
    expect(page.messages.map((m) => m.seq)).toEqual([3, 4]);
    expect([page.hasMore, page.lastSeq]).toEqual([true, 5]);
    ack(socket, 5);
    await syncPage(socket, 5); // round trip: the ack is applied before the next request
    // A new device of a user who has read everything learns its position from an empty page.
    const none = await syncPage(socket, 0);
    expect(none.messages).toHaveLength(0);
    expect([none.hasMore, none.lastSeq]).toEqual([false, 5]);
  });
});

describe("ack", () => {
  it("never moves a device's ack back, nor past the last seq", async () => {
    const { bob } = await inboxWith(10);
    const socket = await connect(bob);
    ack(socket, 6);
    ack(socket, 2);
    expect((await syncPage(socket, 0)).messages.map((m) => m.seq)).toEqual([7, 8, 9, 10]);
    ack(socket, 1_000);
    await syncPage(socket, 0); // round trip: the ack is applied before the next message exists
    const alice = await signIn();
    await sendText(alice, bob.userId, "after");
    expect((await socket.pushes(1))[0]?.seq).toBe(11);
    // The ack was clamped at 10, so message 11 is still unacknowledged.
    expect((await syncPage(socket, 0)).messages.map((m) => m.seq)).toEqual([11]);
  });
});
