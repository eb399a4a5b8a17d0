import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { userInbox } from "../../workers/stubs";
import { connect, signIn, syncAll, textContent } from "./helpers";

function request(receiverId: number, value: string, clientMsgId = ""): pb.SendMessageReq {
  return pb.SendMessageReq.create({
    receiverType: pb.ReceiverType.RT_USER,
    receiverId,
    messageType: pb.MessageType.MT_TEXT,
    messageContent: textContent(value),
    isPersist: true,
    clientMsgId,
  });
}

describe("nothing lost across objects (invariant 2)", () => {
  it("delivers a persisted send after the sender object is reset before delivery", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const sender = userInbox(env, alice.userId);
    const seq = await runInDurableObject(sender, (inbox) => inbox.persistSend(alice.deviceId, request(bob.userId, "survives")));
    expect(seq).toBe(1);
    await runInDurableObject(sender, (_inbox, state) => {
      state.abort("reset between the two steps");
    }).catch(() => undefined);

    const bobSocket = await connect(bob);
    expect((await syncAll(bobSocket, 0)).messages).toHaveLength(0);
    // A stub breaks with its object's reset; the object itself comes back from storage.
    const restarted = userInbox(env, alice.userId);
    expect(await runDurableObjectAlarm(restarted)).toBe(true);
    const { messages } = await syncAll(bobSocket, 0);
    expect(messages.map((m) => [m.seq, pb.Text.decode(m.messageContent).text])).toEqual([[1, "survives"]]);
    expect(await runInDurableObject(restarted, (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n)).toBe(0);
  });

  it("applies a copy exactly once when the receiver is reset after applying it but before the sender learned", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const sender = userInbox(env, alice.userId);
    const receiver = userInbox(env, bob.userId);
    await runInDurableObject(sender, (inbox) => inbox.persistSend(alice.deviceId, request(bob.userId, "once")));
    const pending = await runInDurableObject(sender, (_i, state) =>
      state.storage.sql.exec<{ msg_id: string; body: ArrayBuffer }>("SELECT msg_id, body FROM outbox").toArray(),
    );
    expect(pending).toHaveLength(1);
    // First attempt reaches the receiver, whose answer is lost with its reset.
    expect(await receiver.deliver(pending.map((row) => ({ msgId: row.msg_id, body: new Uint8Array(row.body) })))).toEqual([1]);
    await runInDurableObject(receiver, (_inbox, state) => {
      state.abort("reset before answering");
    }).catch(() => undefined);
    // The sender retries from its outbox; the receiver recognises the message id.
    expect(await runDurableObjectAlarm(sender)).toBe(true);
    const bobSocket = await connect(bob);
    const { messages } = await syncAll(bobSocket, 0);
    expect(messages.map((m) => [m.seq, pb.Text.decode(m.messageContent).text])).toEqual([[1, "once"]]);
    expect(await runInDurableObject(sender, (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n)).toBe(0);
  });
});
