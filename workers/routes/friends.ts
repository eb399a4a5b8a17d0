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
      if (mine?.status === friends.FriendStatus.AGREED) {
        throw new AppError(ErrorCode.ALREADY_FRIEND, "already friends");
      }
      if (mine) {
        return {}; // already requested: a repeat is a no-op, as gim
      }
      const me = await getUser(c.env, caller.userId);
      const theirs = await friends.getFriendRow(db, req.friendId, caller.userId);
      if (theirs?.status === friends.FriendStatus.REQUESTED) {
        // They asked me first: asking back accepts their request.
        await friends.agree(db, req.friendId, caller.userId, req.remarks);
        const push = pb.AgreeAddFriendPush.encode({ friendId: caller.userId, nickname: me?.nickname, avatarUrl: me?.avatarUrl }).finish();
        await notifyUser(c.env, req.friendId, `sys:agree-friend:${req.friendId}:${caller.userId}`, pb.PushCode.PC_AGREE_ADD_FRIEND, push);
        return {};
      }
      await friends.insertRequest(db, caller.userId, req.friendId, req.remarks, req.description);
      const push = pb.AddFriendPush.encode({
        friendId: caller.userId,
        nickname: me?.nickname,
        avatarUrl: me?.avatarUrl,
        description: req.description,
      }).finish();
      await notifyUser(c.env, req.friendId, `sys:add-friend:${caller.userId}:${req.friendId}:${Date.now()}`, pb.PushCode.PC_ADD_FRIEND, push);
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
      if (request.status === friends.FriendStatus.AGREED) {
        return {};
      }
      await friends.agree(db, req.userId, caller.userId, req.remarks);
      const me = await getUser(c.env, caller.userId);
      const push = pb.AgreeAddFriendPush.encode({ friendId: caller.userId, nickname: me?.nickname, avatarUrl: me?.avatarUrl }).finish();
      await notifyUser(c.env, req.userId, `sys:agree-friend:${req.userId}:${caller.userId}`, pb.PushCode.PC_AGREE_ADD_FRIEND, push);
      return {};
    },
  }),
  RejectAddFriend: unary({
    request: pb.RejectAddFriendReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      const db = c.env.DB;
      if (!(await friends.deleteRequest(db, req.userId, caller.userId))) {
        throw new AppError(ErrorCode.FRIEND_REQUEST_NOT_FOUND, `no pending friend request from user ${req.userId}`);
      }
      const me = await getUser(c.env, caller.userId);
      const push = pb.RejectAddFriendPush.encode({ friendId: caller.userId, nickname: me?.nickname, avatarUrl: me?.avatarUrl }).finish();
      await notifyUser(c.env, req.userId, `sys:reject-friend:${req.userId}:${caller.userId}:${Date.now()}`, pb.PushCode.PC_REJECT_ADD_FRIEND, push);
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
      if (!(await friends.deleteFriendship(c.env.DB, caller.userId, req.friendId))) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${req.friendId} is not a friend`);
      }
      const push = pb.DeleteFriendPush.encode({ friendId: caller.userId }).finish();
      await notifyUser(c.env, req.friendId, `sys:delete-friend:${req.friendId}:${caller.userId}:${Date.now()}`, pb.PushCode.PC_DELETE_FRIEND, push);
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
