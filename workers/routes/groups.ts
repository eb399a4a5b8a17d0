/** LogicExt group methods: the directory in D1, every rule and change in the group's GroupChat object. */
import { ErrorCode } from "../../proto/codes";
import { AppError, unwrap } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import type { GroupProfile } from "../../durable-objects/group-chat/inputs";
import { maxGroupMembers, requireRoomFor } from "../../durable-objects/group-chat/rules";
import { unary, type Service } from "../connect-rpc";
import { listUserGroups, reserveGroupId } from "../db/groups";
import { getUsers, requireGroup } from "../directory";
import type { Env } from "../env";
import { groupChat } from "../stubs";

function profileOf(req: { name: string; avatarUrl: string; introduction: string; extra: string }): GroupProfile {
  const limits: [string, string, number][] = [
    ["name", req.name, 64],
    ["avatar_url", req.avatarUrl, 1024],
    ["introduction", req.introduction, 1024],
    ["extra", req.extra, 4096],
  ];
  for (const [field, value, max] of limits) {
    if (value.length > max) {
      throw new AppError(ErrorCode.BAD_REQUEST, `${field} is longer than ${max} characters`);
    }
  }
  if (!req.name.trim()) {
    throw new AppError(ErrorCode.BAD_REQUEST, "name is required");
  }
  return { name: req.name, avatarUrl: req.avatarUrl, introduction: req.introduction, extra: req.extra };
}

/** The object of an existing group; an id that is no group never reaches (and creates) one. */
async function existingGroup(env: Env, groupId: number) {
  if (!(groupId > 0)) {
    throw new AppError(ErrorCode.BAD_REQUEST, "group_id is required");
  }
  await requireGroup(env, groupId);
  return groupChat(env, groupId);
}

export const groupMethods: Service = {
  CreateGroup: unary({
    request: pb.CreateGroupReq,
    response: pb.CreateGroupResp,
    auth: "verify",
    async handle(c, req, caller) {
      const profile = profileOf(req);
      const memberIds = [...new Set(req.memberIds)].filter((id) => id !== caller.userId);
      requireRoomFor(1 + memberIds.length, maxGroupMembers(c.env)); // before an id is reserved
      const users = await getUsers(c.env, memberIds);
      const missing = memberIds.find((id) => !users.has(id));
      if (missing !== undefined) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${missing} does not exist`);
      }
      const groupId = await reserveGroupId(c.env.DB, profile.name, caller.userId);
      unwrap(await groupChat(c.env, groupId).create(caller.userId, profile, memberIds));
      return { groupId };
    },
  }),
  UpdateGroup: unary({
    request: pb.UpdateGroupReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      unwrap(await (await existingGroup(c.env, req.groupId)).update(caller.userId, profileOf(req)));
      return {};
    },
  }),
  GetGroup: unary({
    request: pb.GetGroupReq,
    response: pb.GetGroupResp,
    auth: "verify",
    async handle(c, req) {
      return { group: unwrap(await (await existingGroup(c.env, req.groupId)).info()) };
    },
  }),
  GetGroups: unary({
    request: pb.Empty,
    response: pb.GetGroupsResp,
    auth: "verify",
    async handle(c, _req, caller) {
      return { groups: await listUserGroups(c.env.DB, caller.userId) };
    },
  }),
  AddGroupMembers: unary({
    request: pb.AddGroupMembersReq,
    response: pb.AddGroupMembersResp,
    auth: "verify",
    async handle(c, req, caller) {
      if (req.userIds.length === 0) {
        throw new AppError(ErrorCode.BAD_REQUEST, "user_ids is empty");
      }
      return { userIds: unwrap(await (await existingGroup(c.env, req.groupId)).addMembers(caller.userId, req.userIds)) };
    },
  }),
  UpdateGroupMember: unary({
    request: pb.UpdateGroupMemberReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      if (req.remarks.length > 256 || req.extra.length > 4096) {
        throw new AppError(ErrorCode.BAD_REQUEST, "remarks (256) or extra (4096 characters) too long");
      }
      unwrap(await (await existingGroup(c.env, req.groupId)).updateMember(caller.userId, req.userId, req.memberType, req.remarks, req.extra));
      return {};
    },
  }),
  DeleteGroupMember: unary({
    request: pb.DeleteGroupMemberReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      unwrap(await (await existingGroup(c.env, req.groupId)).removeMember(caller.userId, req.userId));
      return {};
    },
  }),
  LeaveGroup: unary({
    request: pb.LeaveGroupReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      unwrap(await (await existingGroup(c.env, req.groupId)).removeMember(caller.userId, caller.userId));
      return {};
    },
  }),
  DissolveGroup: unary({
    request: pb.DissolveGroupReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      unwrap(await (await existingGroup(c.env, req.groupId)).dissolve(caller.userId));
      return {};
    },
  }),
  TransferGroupOwner: unary({
    request: pb.TransferGroupOwnerReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      unwrap(await (await existingGroup(c.env, req.groupId)).transferOwner(caller.userId, req.userId));
      return {};
    },
  }),
  GetGroupMembers: unary({
    request: pb.GetGroupMembersReq,
    response: pb.GetGroupMembersResp,
    auth: "verify",
    async handle(c, req, caller) {
      const members = unwrap(await (await existingGroup(c.env, req.groupId)).members(caller.userId));
      const users = await getUsers(c.env, members.map((m) => m.user_id));
      return {
        members: members.map((m) => {
          const user = users.get(m.user_id);
          return {
            userId: m.user_id,
            nickname: user?.nickname ?? "",
            sex: user?.sex ?? 0,
            avatarUrl: user?.avatarUrl ?? "",
            userExtra: user?.extra ?? "",
            memberType: m.member_type,
            remarks: m.remarks,
            extra: m.extra,
          };
        }),
      };
    },
  }),
};
