import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { call, connect, ok, signIn, syncAll, type Session } from "./helpers";

function command(message: pb.Message): { code: number; data: Uint8Array } {
  expect(message.messageType).toBe(pb.MessageType.MT_COMMAND);
  expect(message.sender?.senderType).toBe(pb.SenderType.ST_SYSTEM);
  const cmd = pb.Command.decode(message.messageContent);
  return { code: cmd.code, data: cmd.data };
}

async function named(nickname: string): Promise<Session> {
  const user = await signIn();
  await ok("pb.BusinessExt/UpdateUser", { nickname, avatarUrl: `https://${nickname}` }, user);
  return user;
}

describe("friends", () => {
  it("requests, notifies the target live and in its inbox, lists pending, agrees and notifies back", async () => {
    const alice = await named("alice");
    const bob = await named("bob");
    const bobSocket = await connect(bob);
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId, remarks: "from work", description: "hi, it's alice" }, alice);

    const [pushed] = await bobSocket.pushes(1);
    const add = command(pushed!);
    expect(add.code).toBe(pb.PushCode.PC_ADD_FRIEND);
    expect(pb.AddFriendPush.toObject(pb.AddFriendPush.decode(add.data))).toEqual({ friendId: alice.userId, nickname: "alice", avatarUrl: "https://alice", description: "hi, it's alice" });
    expect((await syncAll(bobSocket, 0)).messages.map((m) => m.seq)).toEqual([1]);

    const pending = await ok("pb.LogicExt/GetFriendRequests", {}, bob);
    expect(pending.requests).toHaveLength(1);
    expect(pending.requests[0]).toMatchObject({ userId: String(alice.userId), nickname: "alice", description: "hi, it's alice" });

    const aliceSocket = await connect(alice);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId, remarks: "alice!" }, bob);
    const [agreed] = await aliceSocket.pushes(1);
    const agree = command(agreed!);
    expect(agree.code).toBe(pb.PushCode.PC_AGREE_ADD_FRIEND);
    expect(pb.AgreeAddFriendPush.decode(agree.data).friendId).toBe(bob.userId);

    const aliceFriends = await ok("pb.LogicExt/GetFriends", {}, alice);
    expect(aliceFriends.friends).toEqual([expect.objectContaining({ userId: String(bob.userId), nickname: "bob", remarks: "from work" })]);
    const bobFriends = await ok("pb.LogicExt/GetFriends", {}, bob);
    expect(bobFriends.friends).toEqual([expect.objectContaining({ userId: String(alice.userId), nickname: "alice", remarks: "alice!" })]);
    expect((await ok("pb.LogicExt/GetFriendRequests", {}, bob)).requests ?? []).toEqual([]);

    const again = await call("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "already_exists", gimCode: 10015 });
  });

  it("makes mutual requests a friendship (gim failed on the unique key)", async () => {
    const alice = await named("a2");
    const bob = await named("b2");
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    await ok("pb.LogicExt/AddFriend", { friendId: alice.userId }, bob);
    expect((await ok("pb.LogicExt/GetFriends", {}, alice)).friends.map((f: { userId: string }) => f.userId)).toEqual([String(bob.userId)]);
    expect((await ok("pb.LogicExt/GetFriends", {}, bob)).friends.map((f: { userId: string }) => f.userId)).toEqual([String(alice.userId)]);
    // Agreeing to an already agreed request changes nothing and notifies no one twice.
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    const aliceInbox = (await syncAll(await connect(alice), 0)).messages;
    expect(aliceInbox.map((m) => command(m).code)).toEqual([pb.PushCode.PC_AGREE_ADD_FRIEND]);
  });

  it("notifies every request and agreement again after a delete, and a repeated call notifies nothing twice", async () => {
    const alice = await named("a6");
    const bob = await named("b6");
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    await ok("pb.LogicExt/DeleteFriend", { friendId: bob.userId }, alice);
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId, description: "again" }, alice);
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId, description: "and again" }, alice); // a retry
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob); // a retry

    const bobInbox = (await syncAll(await connect(bob), 0)).messages.map(command);
    expect(bobInbox.map((c) => c.code)).toEqual([pb.PushCode.PC_ADD_FRIEND, pb.PushCode.PC_DELETE_FRIEND, pb.PushCode.PC_ADD_FRIEND]);
    expect(pb.AddFriendPush.decode(bobInbox[2]!.data).description).toBe("again");
    const aliceInbox = (await syncAll(await connect(alice), 0)).messages;
    expect(aliceInbox.map((m) => command(m).code)).toEqual([pb.PushCode.PC_AGREE_ADD_FRIEND, pb.PushCode.PC_AGREE_ADD_FRIEND]);
  });

  it("delivers on a retry the notification an earlier attempt wrote the change for but lost", async () => {
    const alice = await named("a7");
    const bob = await named("b7");
    // What a first AddFriend leaves when its call to bob's inbox fails after the D1 write.
    await env.DB.prepare(
      "INSERT INTO friends (user_id, friend_id, description, status, create_time, update_time, request_ms) VALUES (?, ?, 'hi', 0, 1, 1, 1234)",
    )
      .bind(alice.userId, bob.userId)
      .run();
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    const bobInbox = (await syncAll(await connect(bob), 0)).messages.map(command);
    expect(bobInbox.map((c) => c.code)).toEqual([pb.PushCode.PC_ADD_FRIEND]);
    expect(pb.AddFriendPush.decode(bobInbox[0]!.data).description).toBe("hi");

    // And what a first AgreeAddFriend leaves.
    await env.DB.batch([
      env.DB.prepare("UPDATE friends SET status = 1 WHERE user_id = ? AND friend_id = ?").bind(alice.userId, bob.userId),
      env.DB.prepare("INSERT INTO friends (user_id, friend_id, status, create_time, update_time, request_ms) VALUES (?, ?, 1, 1, 1, 1235)").bind(bob.userId, alice.userId),
    ]);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    const aliceInbox = (await syncAll(await connect(alice), 0)).messages;
    expect(aliceInbox.map((m) => command(m).code)).toEqual([pb.PushCode.PC_AGREE_ADD_FRIEND]);
  });

  it("delivers on a repeated AddFriend the agreement that accepting a request by asking back lost", async () => {
    const alice = await named("a9");
    const bob = await named("b9");
    // What alice's AddFriend leaves when bob had asked first and the call to his inbox failed.
    await env.DB.batch([
      env.DB.prepare("INSERT INTO friends (user_id, friend_id, status, create_time, update_time, request_ms) VALUES (?, ?, 1, 1, 1, 100)").bind(bob.userId, alice.userId),
      env.DB.prepare("INSERT INTO friends (user_id, friend_id, status, create_time, update_time, request_ms) VALUES (?, ?, 1, 1, 1, 200)").bind(alice.userId, bob.userId),
    ]);
    const again = await call("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    expect(again.body).toMatchObject({ code: "already_exists", gimCode: 10015 });
    await call("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    const bobInbox = (await syncAll(await connect(bob), 0)).messages.map(command);
    expect(bobInbox.map((c) => c.code)).toEqual([pb.PushCode.PC_AGREE_ADD_FRIEND]);
    expect(pb.AgreeAddFriendPush.decode(bobInbox[0]!.data).friendId).toBe(alice.userId);
    // The one who asked first is told nothing by asking again.
    expect((await call("pb.LogicExt/AddFriend", { friendId: alice.userId }, bob)).status).toBe(409);
    expect((await syncAll(await connect(alice), 0)).messages).toEqual([]);
  });

  it("rejects a request and tells the requester", async () => {
    const alice = await named("a3");
    const bob = await named("b3");
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    await ok("pb.LogicExt/RejectAddFriend", { userId: alice.userId }, bob);
    const aliceInbox = (await syncAll(await connect(alice), 0)).messages;
    expect(aliceInbox.map((m) => command(m).code)).toEqual([pb.PushCode.PC_REJECT_ADD_FRIEND]);
    expect((await ok("pb.LogicExt/GetFriendRequests", {}, bob)).requests ?? []).toEqual([]);
    const agreeGone = await call("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    expect(agreeGone.status).toBe(404);
    expect(agreeGone.body.gimCode).toBe(10017);
    expect((await call("pb.LogicExt/RejectAddFriend", { userId: alice.userId }, bob)).status).toBe(404);
  });

  it("deletes a friendship on both sides and tells the other", async () => {
    const alice = await named("a4");
    const bob = await named("b4");
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    await ok("pb.LogicExt/DeleteFriend", { friendId: bob.userId }, alice);
    expect((await ok("pb.LogicExt/GetFriends", {}, alice)).friends ?? []).toEqual([]);
    expect((await ok("pb.LogicExt/GetFriends", {}, bob)).friends ?? []).toEqual([]);
    const bobInbox = (await syncAll(await connect(bob), 0)).messages;
    expect(bobInbox.map((m) => command(m).code)).toEqual([pb.PushCode.PC_ADD_FRIEND, pb.PushCode.PC_DELETE_FRIEND]);
    expect((await call("pb.LogicExt/DeleteFriend", { friendId: bob.userId }, alice)).status).toBe(404);
  });

  it("refuses to delete someone who only asked, and leaves their request alone", async () => {
    const alice = await named("a8");
    const carol = await named("c8");
    await ok("pb.LogicExt/AddFriend", { friendId: alice.userId, description: "hello" }, carol);
    const notFriends = await call("pb.LogicExt/DeleteFriend", { friendId: carol.userId }, alice);
    expect(notFriends.body).toMatchObject({ code: "not_found", gimCode: 10016 });
    const pending = await ok("pb.LogicExt/GetFriendRequests", {}, alice);
    expect(pending.requests).toEqual([expect.objectContaining({ userId: String(carol.userId), description: "hello" })]);
    expect((await syncAll(await connect(carol), 0)).messages).toEqual([]);
  });

  it("sets remarks and extra of a friend and returns them", async () => {
    const alice = await named("a5");
    const bob = await named("b5");
    await ok("pb.LogicExt/AddFriend", { friendId: bob.userId }, alice);
    await ok("pb.LogicExt/AgreeAddFriend", { userId: alice.userId }, bob);
    const set = await ok("pb.LogicExt/SetFriend", { friendId: bob.userId, remarks: "Bobby", extra: "{\"star\":true}" }, alice);
    expect(set).toEqual({ friendId: String(bob.userId), remarks: "Bobby", extra: "{\"star\":true}" });
    expect((await ok("pb.LogicExt/GetFriends", {}, alice)).friends[0]).toMatchObject({ remarks: "Bobby", extra: "{\"star\":true}" });
    expect((await call("pb.LogicExt/SetFriend", { friendId: 77_777_777, remarks: "x" }, alice)).status).toBe(404);
  });

  it("refuses a request to nobody or to oneself", async () => {
    const alice = await signIn();
    const nobody = await call("pb.LogicExt/AddFriend", { friendId: 66_666_666 }, alice);
    expect(nobody.status).toBe(404);
    expect(nobody.body.gimCode).toBe(10016);
    expect((await call("pb.LogicExt/AddFriend", { friendId: alice.userId }, alice)).status).toBe(400);
  });
});
