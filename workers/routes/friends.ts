/** LogicExt friend methods (gim Era A semantics, its mutual-request bug fixed, plus reject/list/delete). */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { unary, type Service } from "../connect-rpc";
import * as friends from "../db/friends";
import { getUser, getUsers } from "../directory";
import type { Env } from "../env";
import { notifyUser } from "../notify";

const MAX_TEXT = 256;

function requireText(value: string, field: string): void {
  if (value.length > MAX_TEXT) {
    throw new AppError(ErrorCode.BAD_REQUEST, `${field} is longer than ${MAX_TEXT} characters`);
  }
}

/**
 * Notification ids name the request or friendship they are about (its row's request_ms), so a
 * retried call notifies again under the same id: the inbox applies each id once, so a
 * notification lost with an earlier attempt arrives and a delivered one does not repeat. State
 * that a call removes (a rejected request, a friendship) is removed after its notification.
 */
const noticeId = {
  add: (request: friends.FriendRow) => `sys:add-friend:${request.user_id}:${request.friend_id}:${request.request_ms}`,
  agree: (request: friends.FriendRow) => `sys:agree-friend:${request.user_id}:${request.friend_id}:${request.request_ms}`,
  reject: (request: friends.FriendRow) => `sys:reject-friend:${request.user_id}:${request.friend_id}:${request.request_ms}`,
  delete: (mine: friends.FriendRow) => `sys:delete-friend:${mine.user_id}:${mine.friend_id}:${mine.request_ms}`,
};

/** Tells the requester of `request` that its target, `accepter`, agreed. */
async function notifyAgreed(env: Env, request: friends.FriendRow, accepter: pb.IUser | null): Promise<void> {
  const push = pb.AgreeAddFriendPush.encode({ friendId: request.friend_id, nickname: accepter?.nickname, avatarUrl: accepter?.avatarUrl }).finish();
  await notifyUser(env, request.user_id, noticeId.agree(request), pb.PushCode.PC_AGREE_ADD_FRIEND, push);
}

async function requireOtherUser(env: Env, callerId: number, userId: number, field: string): Promise<pb.IUser> {
  if (!(userId > 0) || userId === callerId) {
    throw new AppError(ErrorCode.BAD_REQUEST, `${field} must be another user's id`);
  }
  const user = await getUser(env, userId);
  if (!user) {
    throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${userId} does not exist`);
  }
  return user;
}

export const friendMethods: Service = {
  AddFriend: unary({
    request: pb.AddFriendReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      requireText(req.remarks, "remarks");
      requireText(req.description, "description");
      const db = c.env.DB;
      await requireOtherUser(c.env, caller.userId, req.friendId, "friend_id");
      const mine = await friends.getFriendRow(db, caller.userId, req.friendId);
      const theirs = mine?.status === friends.FriendStatus.REQUESTED ? null : await friends.getFriendRow(db, req.friendId, caller.userId);
      const me = await getUser(c.env, caller.userId);
      if (mine?.status === friends.FriendStatus.AGREED) {
        if (theirs && theirs.request_ms < mine.request_ms) {
          await notifyAgreed(c.env, theirs, me); // they asked first: this may repeat the call that accepted
        }
        throw new AppError(ErrorCode.ALREADY_FRIEND, "already friends");
      }
      if (theirs?.status === friends.FriendStatus.REQUESTED) {
        // They asked me first: asking back accepts their request.
        await friends.agree(db, req.friendId, caller.userId, req.remarks);
        await notifyAgreed(c.env, theirs, me);
        return {};
      }
      // Asking again changes nothing, as gim, but notifies again (see noticeId).
      const request = mine ?? (await friends.insertRequest(db, caller.userId, req.friendId, req.remarks, req.description));
      const push = pb.AddFriendPush.encode({
        friendId: caller.userId,
        nickname: me?.nickname,
        avatarUrl: me?.avatarUrl,
        description: request.description,
      }).finish();
      await notifyUser(c.env, req.friendId, noticeId.add(request), pb.PushCode.PC_ADD_FRIEND, push);
      return {};
    },
  }),
  AgreeAddFriend: unary({
    request: pb.AgreeAddFriendReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      requireText(req.remarks, "remarks");
      const db = c.env.DB;
      await requireOtherUser(c.env, caller.userId, req.userId, "user_id");
      const request = await friends.getFriendRow(db, req.userId, caller.userId);
      if (!request) {
        throw new AppError(ErrorCode.FRIEND_REQUEST_NOT_FOUND, `no friend request from user ${req.userId}`);
      }
      if (request.status !== friends.FriendStatus.AGREED) {
        await friends.agree(db, req.userId, caller.userId, req.remarks);
      }
      await notifyAgreed(c.env, request, await getUser(c.env, caller.userId)); // again on a retry (see noticeId)
      return {};
    },
  }),
  RejectAddFriend: unary({
    request: pb.RejectAddFriendReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      const db = c.env.DB;
      const request = await friends.getFriendRow(db, req.userId, caller.userId);
      if (request?.status !== friends.FriendStatus.REQUESTED) {
        throw new AppError(ErrorCode.FRIEND_REQUEST_NOT_FOUND, `no pending friend request from user ${req.userId}`);
      }
      const me = await getUser(c.env, caller.userId);
      const push = pb.RejectAddFriendPush.encode({ friendId: caller.userId, nickname: me?.nickname, avatarUrl: me?.avatarUrl }).finish();
      await notifyUser(c.env, req.userId, noticeId.reject(request), pb.PushCode.PC_REJECT_ADD_FRIEND, push);
      await friends.deleteRequest(db, req.userId, caller.userId);
      return {};
    },
  }),
  GetFriendRequests: unary({
    request: pb.Empty,
    response: pb.GetFriendRequestsResp,
    auth: "verify",
    async handle(c, _req, caller) {
      const rows = await friends.listRequestRows(c.env.DB, caller.userId);
      const users = await getUsers(c.env, rows.map((r) => r.user_id));
      return {
        requests: rows.map((r) => ({
          userId: r.user_id,
          nickname: users.get(r.user_id)?.nickname ?? "",
          avatarUrl: users.get(r.user_id)?.avatarUrl ?? "",
          description: r.description,
          createTime: r.create_time,
        })),
      };
    },
  }),
  DeleteFriend: unary({
    request: pb.DeleteFriendReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      const mine = await friends.getFriendRow(c.env.DB, caller.userId, req.friendId);
      if (mine?.status !== friends.FriendStatus.AGREED) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${req.friendId} is not a friend`);
      }
      const push = pb.DeleteFriendPush.encode({ friendId: caller.userId }).finish();
      await notifyUser(c.env, req.friendId, noticeId.delete(mine), pb.PushCode.PC_DELETE_FRIEND, push);
      await friends.deleteFriendship(c.env.DB, caller.userId, req.friendId);
      return {};
    },
  }),
  SetFriend: unary({
    request: pb.SetFriendReq,
    response: pb.SetFriendResp,
    auth: "verify",
    async handle(c, req, caller) {
      requireText(req.remarks, "remarks");
      requireText(req.extra, "extra");
      if (!(await friends.setFriend(c.env.DB, caller.userId, req.friendId, req.remarks, req.extra))) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${req.friendId} is not a friend`);
      }
      return { friendId: req.friendId, remarks: req.remarks, extra: req.extra };
    },
  }),
  GetFriends: unary({
    request: pb.Empty,
    response: pb.GetFriendsResp,
    auth: "verify",
    async handle(c, _req, caller) {
      const rows = await friends.listFriendRows(c.env.DB, caller.userId);
      const users = await getUsers(c.env, rows.map((r) => r.friend_id));
      return {
        friends: rows.map((r) => {
          const user = users.get(r.friend_id);
          return { userId: r.friend_id, nickname: user?.nickname ?? "", sex: user?.sex ?? 0, avatarUrl: user?.avatarUrl ?? "", userExtra: user?.extra ?? "", remarks: r.remarks, extra: r.extra };
        }),
      };
    },
  }),
};
