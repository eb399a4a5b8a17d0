import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { call, connect, ok, sendOverSocket, sendText, signIn, syncAll, syncPage, text, textBase64, textContent, uniquePhone } from "./helpers";

describe("1:1 send", () => {
  it("stores a copy in both inboxes and pushes to the receiver's devices and the sender's other devices", async () => {
    const alicePhone = uniquePhone();
    const alice1 = await signIn(alicePhone);
    const alice2 = await signIn(alicePhone);
    const bobPhone = uniquePhone();
    const bob1 = await signIn(bobPhone);
    const bob2 = await signIn(bobPhone);
    await ok("pb.BusinessExt/UpdateUser", { nickname: "Alice", avatarUrl: "https://a/1.png", extra: "x", sex: 2 }, alice1);
    const [a1, a2, b1, b2] = await Promise.all([connect(alice1), connect(alice2), connect(bob1), connect(bob2)]);

    const reply = await sendOverSocket(a1, {
      receiverType: pb.ReceiverType.RT_USER,
      receiverId: bob1.userId,
      toUserIds: [bob1.userId],
      messageType: pb.MessageType.MT_TEXT,
      messageContent: textContent("hello bob"),
      sendTime: 1_700_000_000_000,
      clientMsgId: "c-1",
    });
    expect(reply.code).toBe(0);
    expect(pb.SendMessageResp.decode(reply.data).seq).toBe(1);

    const [atBob1] = await b1.pushes(1);
    const [atBob2] = await b2.pushes(1);
    const [atAlice2] = await a2.pushes(1);
    for (const m of [atBob1!, atBob2!, atAlice2!]) {
      expect(m.sender?.senderType).toBe(pb.SenderType.ST_USER);
      expect(m.sender?.senderId).toBe(alice1.userId);
      expect(m.sender?.deviceId).toBe(alice1.deviceId);
      expect(m.sender?.nickname).toBe("Alice");
      expect(m.sender?.avatarUrl).toBe("https://a/1.png");
      expect(m.receiverType).toBe(pb.ReceiverType.RT_USER);
      expect(m.receiverId).toBe(bob1.userId);
      expect(m.toUserIds).toEqual([bob1.userId]);
      expect(m.messageType).toBe(pb.MessageType.MT_TEXT);
      expect(text(m)).toBe("hello bob");
      expect(m.sendTime).toBe(1_700_000_000_000);
      expect(m.status).toBe(pb.MessageStatus.MS_NORMAL);
      expect(m.clientMsgId).toBe("c-1");
      expect(m.seq).toBe(1);
    }
    // The sending device gets the reply, not a push of its own message.
    await new Promise((r) => setTimeout(r, 100));
    expect(a1.frames.filter((f) => f instanceof pb.Output && f.type === pb.PackageType.PT_MESSAGE)).toHaveLength(0);
    // The sending device's ack moved to its own copy: its seq-0 sync starts after it.
    expect((await syncPage(a1, 0)).messages).toHaveLength(0);
    expect((await syncAll(a2, 0)).messages).toHaveLength(0);
    expect((await syncAll(b1, 0)).messages.map((m) => m.seq)).toEqual([1]);
  });

  it("delivers is_persist=false only to online devices, with seq 0 and nothing to sync", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const offline = await signIn();
    const bobSocket = await connect(bob);
    const seq = await sendText(alice, bob.userId, "typing…", { isPersist: false });
    expect(seq).toBe(0);
    const [pushed] = await bobSocket.pushes(1);
    expect(pushed!.seq).toBe(0);
    expect(text(pushed!)).toBe("typing…");
    expect((await syncAll(bobSocket, 0)).messages).toHaveLength(0);
    expect(await sendText(alice, offline.userId, "gone", { isPersist: false })).toBe(0);
    expect((await syncAll(await connect(offline), 0)).messages).toHaveLength(0);
  });

  it("refuses a send to a user that does not exist", async () => {
    const alice = await signIn();
    const res = await call("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: 987654321, messageType: "MT_TEXT", messageContent: textBase64("x"), isPersist: true }, alice);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "not_found", gimCode: 10016 });
  });

  it("refuses sends without a receiver or with an unknown receiver type", async () => {
    const alice = await signIn();
    const noReceiver = await call("pb.LogicExt/SendMessage", { receiverType: "RT_USER", messageType: "MT_TEXT" }, alice);
    expect(noReceiver.status).toBe(400);
    expect(noReceiver.body.gimCode).toBe(10001);
    const unknownType = await call("pb.LogicExt/SendMessage", { receiverType: 0, receiverId: alice.userId }, alice);
    expect(unknownType.status).toBe(400);
  });

  it("refuses a send_time that is no time a client could mean, and takes one a little ahead", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const send = (sendTime: number | string) =>
      call("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: textBase64("t"), isPersist: true, sendTime }, alice);
    for (const bad of ["10000000000000000", String(Date.now() + 2 * 86_400_000), "-5"]) {
      expect((await send(bad)).body, bad).toMatchObject({ code: "invalid_argument", gimCode: 10001, message: expect.stringContaining("send_time") });
    }
    const ahead = Date.now() + 3_600_000; // a client clock an hour fast
    expect((await send(ahead)).status).toBe(200);
    const [stored] = (await syncAll(await connect(bob), 0)).messages;
    expect(stored!.sendTime).toBe(ahead);
  });
});

describe("idempotent send (invariant 3)", () => {
  it("returns the original seq for a retried client_msg_id and creates nothing", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const first = await sendText(alice, bob.userId, "once", { clientMsgId: "retry-me" });
    const other = await sendText(alice, bob.userId, "another", { clientMsgId: "other" });
    const retry = await sendText(alice, bob.userId, "once", { clientMsgId: "retry-me" });
    expect([first, other, retry]).toEqual([1, 2, 1]);
    const aliceSocket = await connect(alice);
    const socketRetry = await sendOverSocket(aliceSocket, { receiverType: pb.ReceiverType.RT_USER, receiverId: bob.userId, messageType: pb.MessageType.MT_TEXT, messageContent: textContent("once"), clientMsgId: "retry-me" });
    expect(pb.SendMessageResp.decode(socketRetry.data).seq).toBe(1);
    const bobMessages = (await syncAll(await connect(bob), 0)).messages;
    expect(bobMessages.map((m) => [m.seq, text(m)])).toEqual([[1, "once"], [2, "another"]]);
  });

  it("gives concurrent retries of one client_msg_id one message and one seq", async () => {
    const alice = await signIn();
    const bob = await signIn();
    // Sent together, they reach the inbox in one write batch: the dedup holds inside a batch too.
    const seqs = await Promise.all(Array.from({ length: 6 }, () => sendText(alice, bob.userId, "twice?", { clientMsgId: "same" })));
    expect(seqs).toEqual([1, 1, 1, 1, 1, 1]);
    expect((await syncAll(await connect(bob), 0)).messages.map((m) => [m.seq, text(m)])).toEqual([[1, "twice?"]]);
    expect(await sendText(alice, bob.userId, "next")).toBe(2); // the sender's inbox holds one copy too
  });
});

describe("order (invariant 4) and dense seq (invariant 1)", () => {
  it("lands concurrent sends of one sender in the receiver's inbox in send order", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => sendText(alice, bob.userId, `m${i}`, { clientMsgId: `o-${i}` })));
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const senderSeqOf = new Map(seqs.map((seq, i) => [`o-${i}`, seq]));
    const bobMessages = (await syncAll(await connect(bob), 0)).messages;
    expect(bobMessages.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const senderOrder = bobMessages.map((m) => senderSeqOf.get(m.clientMsgId));
    expect(senderOrder).toEqual([...senderOrder].sort((a, b) => (a ?? 0) - (b ?? 0)));
  });

  // Pipelined socket sends are tested over a real network socket in test/node/socket-order.test.ts:
  // the in-process socket pair of the test pool can hand queued frames to the object out of order.

  it("gives a receiver of many concurrent senders gap-free seqs 1..N", async () => {
    const bob = await signIn();
    const senders = await Promise.all(Array.from({ length: 5 }, () => signIn()));
    // Senders run concurrently; each sends its 8 messages one after another.
    await Promise.all(
      senders.map(async (s, i) => {
        for (let j = 0; j < 8; j++) {
          await sendText(s, bob.userId, `${i}-${j}`);
        }
      }),
    );
    const { messages } = await syncAll(await connect(bob), 0);
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let i = 0; i < 5; i++) {
      const fromSender = messages.filter((m) => m.sender?.senderId === senders[i]!.userId).map(text);
      expect(fromSender).toEqual(Array.from({ length: 8 }, (_, j) => `${i}-${j}`));
    }
  });
});
