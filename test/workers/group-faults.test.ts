import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { groupChat, userInbox } from "../../workers/stubs";
import { connect, createGroup, signIn, syncAll, text, textContent, type Session } from "./helpers";

async function groupTexts(user: Session): Promise<string[]> {
  const socket = await connect(user);
  const { messages } = await syncAll(socket, 1); // after the creation notice
  socket.close();
  return messages.map(text);
}

function body(senderId: number, groupId: number, value: string): Uint8Array {
  return pb.Message.encode({
    sender: { senderType: pb.SenderType.ST_USER, senderId },
    receiverType: pb.ReceiverType.RT_GROUP,
    receiverId: groupId,
    messageType: pb.MessageType.MT_TEXT,
    messageContent: textContent(value),
  }).finish();
}

describe("group fan-out under faults (invariant 2)", () => {
  it("keeps its seq after every member caught up, the log was pruned and the object restarted", async () => {
    const [owner, member] = [await signIn(), await signIn()];
    const groupId = await createGroup(owner, [member]);
    const group = groupChat(env, groupId);
    const post = (value: string) =>
      runInDurableObject(groupChat(env, groupId), (instance) =>
        instance.post({ senderId: owner.userId, deviceId: owner.deviceId, clientMsgId: "", body: body(owner.userId, groupId, value), persist: true }),
      );
    expect((await post("x")).ok).toBe(true);
    // Both members have everything: once the cursors are saved the log is pruned up to them.
    await vi.waitFor(async () => {
      const rows = await runInDurableObject(group, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM log").one().n);
      expect(rows).toBe(1);
    });
    await runInDurableObject(group, (_instance, state) => {
      state.abort("restart after the prune");
    }).catch(() => undefined);

    expect(await post("y")).toMatchObject({ ok: true });
    await runDurableObjectAlarm(groupChat(env, groupId));
    for (const user of [owner, member]) {
      expect(await groupTexts(user)).toEqual(["x", "y"]);
    }
  });

  it("loses nothing and duplicates nothing when the group object and a member inbox reset mid fan-out", async () => {
    const members = await Promise.all(Array.from({ length: 12 }, () => signIn()));
    const owner = members[0]!;
    const groupId = await createGroup(owner, members.slice(1));
    const group = groupChat(env, groupId);
    // Post three messages and reset the group right away: with 4 deliveries at a time (the test
    // configuration), most members have not been reached yet.
    await runInDurableObject(group, async (instance, state) => {
      for (const value of ["a", "b", "c"]) {
        const result = await instance.post({ senderId: owner.userId, deviceId: owner.deviceId, clientMsgId: "", body: body(owner.userId, groupId, value), persist: true });
        expect(result.ok).toBe(true);
      }
      state.abort("reset mid fan-out");
    }).catch(() => undefined);
    // A member inbox resets too.
    await runInDurableObject(userInbox(env, members[5]!.userId), (_inbox, state) => {
      state.abort("member reset");
    }).catch(() => undefined);

    const before = await Promise.all(members.map(groupTexts));
    expect(before[0]).toEqual(["a", "b", "c"]); // the sender's copy is applied before post answers
    expect(before.some((texts) => texts.length < 3)).toBe(true);

    const restarted = groupChat(env, groupId);
    expect(await runDurableObjectAlarm(restarted)).toBe(true);
    for (const user of members) {
      const socket = await connect(user);
      const { messages } = await syncAll(socket, 1);
      expect(messages.map(text)).toEqual(["a", "b", "c"]);
      expect(messages.map((m) => m.seq)).toEqual([2, 3, 4]);
      socket.close();
    }
  });
});
