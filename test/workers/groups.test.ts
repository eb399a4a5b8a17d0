import { env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { groupChat } from "../../workers/stubs";
import { call, commandOf, connect, createGroup, ok, sendGroupText, sendOverSocket, signIn, syncAll, text, textBase64, textContent, uniquePhone, type Session } from "./helpers";

async function users(n: number): Promise<Session[]> {
  return Promise.all(Array.from({ length: n }, () => signIn()));
}

/** The user's inbox from `afterSeq` (0 = after the highest device ack, as a client would sync). */
async function inbox(user: Session, afterSeq = 0): Promise<pb.Message[]> {
  const socket = await connect(user);
  const { messages } = await syncAll(socket, afterSeq);
  socket.close();
  return messages;
}

const codes = (messages: pb.Message[]) => messages.map((m) => (m.messageType === pb.MessageType.MT_COMMAND ? commandOf(m).code : text(m)));

describe("group directory", () => {
  it("creates a group: the creator is owner and admin, members are notified, counts and lists are right", async () => {
    const [owner, a, b] = await users(3);
    await ok("pb.BusinessExt/UpdateUser", { nickname: "Olga" }, owner!);
    const groupId = await createGroup(owner!, [a!, b!, a!], "climbers");
    const group = (await ok("pb.LogicExt/GetGroup", { groupId }, a)).group;
    expect(group).toMatchObject({ groupId: String(groupId), name: "climbers", userMum: 3, ownerId: String(owner!.userId) });
    for (const user of [owner!, a!, b!]) {
      expect((await ok("pb.LogicExt/GetGroups", {}, user)).groups.map((g: { groupId: string }) => g.groupId)).toEqual([String(groupId)]);
      const [notice] = await inbox(user);
      expect(notice!.receiverType).toBe(pb.ReceiverType.RT_GROUP);
      expect(notice!.receiverId).toBe(groupId);
      const cmd = commandOf(notice!);
      expect(cmd.code).toBe(pb.PushCode.PC_ADD_GROUP_MEMBERS);
      const push = pb.AddGroupMembersPush.decode(cmd.data);
      expect(push.optId).toBe(owner!.userId);
      expect(push.optName).toBe("Olga");
      expect(push.members.map((m) => m.userId)).toEqual([a!.userId, b!.userId]);
    }
    const members = (await ok("pb.LogicExt/GetGroupMembers", { groupId }, b)).members;
    const roles = new Map(members.map((m: { userId: string; memberType: string }) => [Number(m.userId), m.memberType]));
    expect(roles).toEqual(new Map([[owner!.userId, "GMT_ADMIN"], [a!.userId, "GMT_MEMBER"], [b!.userId, "GMT_MEMBER"]]));
    expect(members.find((m: { userId: string }) => Number(m.userId) === owner!.userId).nickname).toBe("Olga");
  });

  it("splits the added-members notice when the members' profiles do not fit one message", async () => {
    const [owner, ...members] = await users(21);
    await Promise.all(members.map((m, i) => ok("pb.BusinessExt/UpdateUser", { nickname: `m${i}`, extra: "e".repeat(4_000) }, m)));
    const groupId = await createGroup(owner!, members);
    const notices = await inbox(members[5]!);
    expect(notices.length).toBeGreaterThan(1);
    const listed = notices.map((m) => {
      expect(m.receiverId).toBe(groupId);
      expect(pb.Message.encode(m).finish().length).toBeLessThanOrEqual(65_000);
      return pb.AddGroupMembersPush.decode(commandOf(m).data).members.map((member) => member.userId);
    });
    expect(listed.flat()).toEqual(members.map((m) => m.userId));
  });

  it("answers calls and sends to an id that is no group with 10013 without creating an object for it", async () => {
    const user = await signIn();
    const nobody = 800_000_000 + Math.floor(Math.random() * 1_000_000);
    expect((await call("pb.LogicExt/GetGroup", { groupId: nobody }, user)).body).toMatchObject({ code: "not_found", gimCode: 10013 });
    expect((await call("pb.LogicExt/AddGroupMembers", { groupId: nobody, userIds: [user.userId] }, user)).body.gimCode).toBe(10013);
    const send = { receiverType: "RT_GROUP", receiverId: nobody, messageType: "MT_TEXT", messageContent: textBase64("x"), isPersist: true };
    expect((await call("pb.LogicExt/SendMessage", send, user)).body.gimCode).toBe(10013);
    const reply = await sendOverSocket(await connect(user), { ...send, receiverType: pb.ReceiverType.RT_GROUP, messageType: pb.MessageType.MT_TEXT, messageContent: textContent("x") });
    expect(reply.code).toBe(10013);
    const somebody = await createGroup(user, []); // whose object the listing does show
    const created = (await listDurableObjectIds(env.GROUP_CHAT)).map((id) => id.toString());
    expect(created).not.toContain(env.GROUP_CHAT.idFromName(`group:${nobody}`).toString());
    expect(created).toContain(env.GROUP_CHAT.idFromName(`group:${somebody}`).toString());
  });

  it("refuses unknown members, an empty name and more members than the cap", async () => {
    const owner = await signIn();
    expect((await call("pb.LogicExt/CreateGroup", { name: "x", memberIds: [55_555_555] }, owner)).body.gimCode).toBe(10016);
    expect((await call("pb.LogicExt/CreateGroup", { name: " " }, owner)).status).toBe(400);
    const many = await users(50); // the test configuration caps groups at 50 members
    const full = await call("pb.LogicExt/CreateGroup", { name: "big", memberIds: many.map((u) => u.userId) }, owner);
    expect(full.status).toBe(429);
    expect(full.body).toMatchObject({ code: "resource_exhausted", gimCode: 10019 });
    const reserved = await env.DB.prepare("SELECT COUNT(*) AS n FROM groups WHERE owner_id = ?").bind(owner.userId).first<{ n: number }>();
    expect(reserved?.n).toBe(0); // no group id left behind by the refusals
    const groupId = await createGroup(owner, many.slice(0, 48));
    expect((await ok("pb.LogicExt/AddGroupMembers", { groupId, userIds: [many[48]!.userId] }, owner)).userIds ?? []).toEqual([]);
    const over = await call("pb.LogicExt/AddGroupMembers", { groupId, userIds: [many[49]!.userId] }, owner);
    expect(over.body.gimCode).toBe(10019);
    expect((await ok("pb.LogicExt/GetGroup", { groupId }, owner)).group.userMum).toBe(50);
  });
});

describe("permissions", () => {
  it("lets only admins change the group and its members, and members remove only themselves", async () => {
    const [owner, admin, member, other, outsider] = await users(5);
    const groupId = await createGroup(owner!, [admin!, member!, other!]);
    await ok("pb.LogicExt/UpdateGroupMember", { groupId, userId: admin!.userId, memberType: "GMT_ADMIN" }, owner);

    const denied = [
      await call("pb.LogicExt/UpdateGroup", { groupId, name: "mine" }, member),
      await call("pb.LogicExt/AddGroupMembers", { groupId, userIds: [outsider!.userId] }, member),
      await call("pb.LogicExt/DeleteGroupMember", { groupId, userId: other!.userId }, member),
      await call("pb.LogicExt/UpdateGroupMember", { groupId, userId: member!.userId, memberType: "GMT_ADMIN" }, member),
      await call("pb.LogicExt/DeleteGroupMember", { groupId, userId: owner!.userId }, admin),
      await call("pb.LogicExt/UpdateGroupMember", { groupId, userId: admin!.userId, memberType: "GMT_MEMBER" }, admin),
      await call("pb.LogicExt/DissolveGroup", { groupId }, admin),
      await call("pb.LogicExt/TransferGroupOwner", { groupId, userId: admin!.userId }, admin),
      await call("pb.LogicExt/LeaveGroup", { groupId }, owner),
    ];
    for (const res of denied) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "permission_denied", gimCode: 10012 });
    }
    const outsiderCalls = [
      await call("pb.LogicExt/GetGroupMembers", { groupId }, outsider),
      await call("pb.LogicExt/SendMessage", { receiverType: "RT_GROUP", receiverId: groupId, messageType: "MT_TEXT", isPersist: true }, outsider),
    ];
    for (const res of outsiderCalls) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "permission_denied", gimCode: 10011 });
    }
    // Allowed: a member edits its own remarks, an admin updates and adds, a member leaves.
    await ok("pb.LogicExt/UpdateGroupMember", { groupId, userId: member!.userId, memberType: "GMT_MEMBER", remarks: "me" }, member);
    await ok("pb.LogicExt/UpdateGroup", { groupId, name: "renamed" }, admin);
    await ok("pb.LogicExt/AddGroupMembers", { groupId, userIds: [outsider!.userId] }, admin);
    await ok("pb.LogicExt/DeleteGroupMember", { groupId, userId: member!.userId }, member);
    await ok("pb.LogicExt/DeleteGroupMember", { groupId, userId: other!.userId }, admin);
    const group = (await ok("pb.LogicExt/GetGroup", { groupId }, owner)).group;
    expect(group).toMatchObject({ name: "renamed", userMum: 3 });
    expect((await call("pb.LogicExt/GetGroup", { groupId: 12_345_678 }, owner)).body.gimCode).toBe(10013);
  });

  it("transfers ownership and dissolves: every member is told, then the group is gone", async () => {
    const [owner, next, member] = await users(3);
    const groupId = await createGroup(owner!, [next!, member!]);
    await ok("pb.LogicExt/TransferGroupOwner", { groupId, userId: next!.userId }, owner);
    expect((await ok("pb.LogicExt/GetGroup", { groupId }, owner)).group.ownerId).toBe(String(next!.userId));
    await ok("pb.LogicExt/LeaveGroup", { groupId }, owner);
    expect((await call("pb.LogicExt/DissolveGroup", { groupId }, member)).status).toBe(403);
    await ok("pb.LogicExt/DissolveGroup", { groupId }, next);
    expect((await call("pb.LogicExt/GetGroup", { groupId }, next)).body.gimCode).toBe(10013);
    expect((await call("pb.LogicExt/SendMessage", { receiverType: "RT_GROUP", receiverId: groupId, isPersist: true }, member)).body.gimCode).toBe(10013);
    expect((await ok("pb.LogicExt/GetGroups", {}, member)).groups ?? []).toEqual([]);
    expect(codes(await inbox(member!))).toEqual([
      pb.PushCode.PC_ADD_GROUP_MEMBERS,
      pb.PushCode.PC_TRANSFER_GROUP_OWNER,
      pb.PushCode.PC_REMOVE_GROUP_MEMBER,
      pb.PushCode.PC_DISSOLVE_GROUP,
    ]);
    expect(codes(await inbox(owner!))).toEqual([pb.PushCode.PC_ADD_GROUP_MEMBERS, pb.PushCode.PC_TRANSFER_GROUP_OWNER, pb.PushCode.PC_REMOVE_GROUP_MEMBER]);
  });
});

describe("group send", () => {
  it("gives every member a copy with its own seq and pushes to all devices but the sending one", async () => {
    const phone = uniquePhone();
    const alice1 = await signIn(phone);
    const alice2 = await signIn(phone);
    const [bob, carol] = await users(2);
    const groupId = await createGroup(alice1, [bob!, carol!]);
    await ok("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: carol!.userId, messageType: "MT_TEXT", messageContent: "", isPersist: true }, bob);
    const [a1, a2, b, c] = await Promise.all([connect(alice1), connect(alice2), connect(bob!), connect(carol!)]);
    const reply = await sendOverSocket(a1, { receiverType: pb.ReceiverType.RT_GROUP, receiverId: groupId, messageType: pb.MessageType.MT_TEXT, messageContent: textContent("hello group") });
    expect(reply.code).toBe(0);
    expect(pb.SendMessageResp.decode(reply.data).seq).toBe(2); // 1 = the creation notice
    const [atAlice2] = await a2.pushes(1);
    const [atBob] = await b.pushes(1);
    const [atCarol] = await c.pushes(1);
    expect([atAlice2!.seq, atBob!.seq, atCarol!.seq]).toEqual([2, 3, 3]); // bob and carol each had 2 messages
    for (const m of [atAlice2!, atBob!, atCarol!]) {
      expect(m.receiverType).toBe(pb.ReceiverType.RT_GROUP);
      expect(m.receiverId).toBe(groupId);
      expect(m.sender?.senderId).toBe(alice1.userId);
      expect(text(m)).toBe("hello group");
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(a1.frames.filter((f) => f instanceof pb.Output && f.type === pb.PackageType.PT_MESSAGE)).toHaveLength(0);
  });

  it("adds each member once when two overlapping additions run at the same time", async () => {
    const [owner, x, y, z] = await users(4);
    const groupId = await createGroup(owner!, []);
    const [first, second] = await Promise.all([
      call("pb.LogicExt/AddGroupMembers", { groupId, userIds: [x!.userId, y!.userId] }, owner),
      call("pb.LogicExt/AddGroupMembers", { groupId, userIds: [y!.userId, z!.userId] }, owner),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const already = [...(first.body.userIds ?? []), ...(second.body.userIds ?? [])];
    expect(already).toEqual([String(y!.userId)]); // y was added by one call, already there for the other
    const members = (await ok("pb.LogicExt/GetGroupMembers", { groupId }, owner)).members.map((m: { userId: string }) => Number(m.userId));
    expect(members.sort((a: number, b: number) => a - b)).toEqual([owner!.userId, x!.userId, y!.userId, z!.userId].sort((a, b) => a - b));
    const listed = (await inbox(owner!)).slice(1).flatMap((m) => pb.AddGroupMembersPush.decode(commandOf(m).data).members.map((member) => Number(member.userId)));
    expect(listed.sort((a, b) => a - b)).toEqual([x!.userId, y!.userId, z!.userId].sort((a, b) => a - b));
  });

  it("forgets send records older than GROUP_DEDUP_MESSAGES, and still recognises recent retries", async () => {
    const [owner, member] = await users(2);
    const groupId = await createGroup(owner!, [member!]);
    const seqs: number[] = [];
    for (let i = 0; i < 30; i++) {
      seqs.push(await sendGroupText(owner!, groupId, `m${i}`, { clientMsgId: `d${i}` }));
    }
    // The test configuration keeps send records for 20 group messages (pruned 2 at a time).
    await vi.waitFor(async () => {
      const kept = await runInDurableObject(groupChat(env, groupId), (_instance, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sent").one().n,
      );
      expect(kept).toBeLessThanOrEqual(22);
    });
    expect(await sendGroupText(owner!, groupId, "m29", { clientMsgId: "d29" })).toBe(seqs[29]);
  });

  it("deduplicates a retried group send and delivers is_persist=false only to online members", async () => {
    const [owner, online, offline] = await users(3);
    const groupId = await createGroup(owner!, [online!, offline!]);
    const first = await sendGroupText(owner!, groupId, "once", { clientMsgId: "g-1" });
    const retry = await sendGroupText(owner!, groupId, "once", { clientMsgId: "g-1" });
    expect(retry).toBe(first);
    const socket = await connect(online!);
    expect(await sendGroupText(owner!, groupId, "live only", { isPersist: false })).toBe(0);
    const [live] = await socket.pushes(1);
    expect([live!.seq, text(live!)]).toEqual([0, "live only"]);
    expect(codes(await inbox(offline!))).toEqual([pb.PushCode.PC_ADD_GROUP_MEMBERS, "once"]);
    expect(codes(await inbox(online!))).toEqual([pb.PushCode.PC_ADD_GROUP_MEMBERS, "once"]);
  });

  it("shows every member the group's messages in one order, whoever sent them (gim #92)", async () => {
    const members = await users(4);
    const groupId = await createGroup(members[0]!, members.slice(1));
    await Promise.all(
      members.map(async (sender, i) => {
        for (let j = 0; j < 6; j++) {
          await sendGroupText(sender, groupId, `${i}:${j}`);
        }
      }),
    );
    // Each sender acked its own sends, so read every inbox from after the creation notice (seq 1).
    const orders = await Promise.all(members.map(async (m) => (await inbox(m, 1)).map(text)));
    expect(orders[0]).toHaveLength(24);
    for (const order of orders) {
      expect(order).toEqual(orders[0]);
    }
    for (let i = 0; i < 4; i++) {
      expect(orders[0]!.filter((t) => t.startsWith(`${i}:`))).toEqual(Array.from({ length: 6 }, (_, j) => `${i}:${j}`));
    }
  });
});

describe("membership over time", () => {
  it("gives a member added during sends exactly the messages ordered after its addition", async () => {
    const [owner, early, late] = await users(3);
    const groupId = await createGroup(owner!, [early!]);
    const sends = (async () => {
      for (let i = 0; i < 20; i++) {
        await sendGroupText(owner!, groupId, `m${i}`);
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    await ok("pb.LogicExt/AddGroupMembers", { groupId, userIds: [late!.userId] }, owner);
    await sends;
    const earlyView = codes(await inbox(early!));
    const addedAt = earlyView.lastIndexOf(pb.PushCode.PC_ADD_GROUP_MEMBERS);
    expect(addedAt).toBeGreaterThan(0);
    expect(codes(await inbox(late!))).toEqual(earlyView.slice(addedAt));
  });

  it("gives a member removed during sends everything up to its removal notice and nothing after", async () => {
    const [owner, stays, leaves] = await users(3);
    const groupId = await createGroup(owner!, [stays!, leaves!]);
    const sends = (async () => {
      for (let i = 0; i < 20; i++) {
        await sendGroupText(owner!, groupId, `m${i}`);
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    await ok("pb.LogicExt/DeleteGroupMember", { groupId, userId: leaves!.userId }, owner);
    await sends;
    const staysView = codes(await inbox(stays!));
    const removedAt = staysView.indexOf(pb.PushCode.PC_REMOVE_GROUP_MEMBER);
    expect(removedAt).toBeGreaterThan(0);
    expect(staysView).toHaveLength(22);
    expect(codes(await inbox(leaves!))).toEqual(staysView.slice(0, removedAt + 1));
  });
});
