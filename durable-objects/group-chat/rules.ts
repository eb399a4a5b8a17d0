/** Who may do what in a group (gim stored roles but never checked them). */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import type { InfoRow, MemberRow } from "./statements";

/** The member cap: MAX_GROUP_MEMBERS, 2,000 by default. */
export function maxGroupMembers(env: { MAX_GROUP_MEMBERS?: string }): number {
  return Number(env.MAX_GROUP_MEMBERS ?? 2000);
}

/** Throws GROUP_FULL when a group would have more than `max` members. */
export function requireRoomFor(total: number, max: number): void {
  if (total > max) {
    throw new AppError(ErrorCode.GROUP_FULL, `a group has at most ${max} members`);
  }
}

export function requireGroup(info: InfoRow | undefined): InfoRow {
  if (!info || info.dissolved_at > 0) {
    throw new AppError(ErrorCode.GROUP_NOT_EXIST, "group does not exist");
  }
  return info;
}

export function requireMember(members: ReadonlyMap<number, MemberRow>, userId: number): MemberRow {
  const member = members.get(userId);
  if (!member) {
    throw new AppError(ErrorCode.NOT_IN_GROUP, "not a member of this group");
  }
  return member;
}

export function requireAdmin(members: ReadonlyMap<number, MemberRow>, userId: number, action: string): MemberRow {
  const member = requireMember(members, userId);
  if (member.member_type !== pb.MemberType.GMT_ADMIN) {
    throw new AppError(ErrorCode.NOT_GROUP_ADMIN, `only group admins can ${action}`);
  }
  return member;
}

export function requireOwner(info: InfoRow, userId: number, action: string): void {
  if (info.owner_id !== userId) {
    throw new AppError(ErrorCode.NOT_GROUP_ADMIN, `only the group owner can ${action}`);
  }
}

/** A member may remove itself (not the owner); admins remove members; only the owner removes admins. */
export function checkRemoval(info: InfoRow, members: ReadonlyMap<number, MemberRow>, callerId: number, targetId: number): void {
  const target = members.get(targetId);
  if (!target) {
    throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${targetId} is not a member of this group`);
  }
  if (targetId === info.owner_id) {
    throw new AppError(ErrorCode.NOT_GROUP_ADMIN, "the owner cannot leave or be removed: transfer ownership or dissolve the group");
  }
  if (callerId === targetId) {
    return;
  }
  requireAdmin(members, callerId, "remove members");
  if (target.member_type === pb.MemberType.GMT_ADMIN) {
    requireOwner(info, callerId, "remove an admin");
  }
}

/** Admins change roles, remarks and extra of anyone; a member changes only its own remarks and extra. */
export function checkMemberUpdate(info: InfoRow, members: ReadonlyMap<number, MemberRow>, callerId: number, targetId: number, memberType: number): void {
  const caller = requireMember(members, callerId);
  const target = members.get(targetId);
  if (!target) {
    throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${targetId} is not a member of this group`);
  }
  if (memberType !== pb.MemberType.GMT_ADMIN && memberType !== pb.MemberType.GMT_MEMBER) {
    throw new AppError(ErrorCode.BAD_REQUEST, "member_type must be GMT_ADMIN or GMT_MEMBER");
  }
  const roleChange = memberType !== target.member_type;
  if (caller.member_type !== pb.MemberType.GMT_ADMIN && (callerId !== targetId || roleChange)) {
    throw new AppError(ErrorCode.NOT_GROUP_ADMIN, "only group admins can update other members or roles");
  }
  if (roleChange && targetId === info.owner_id) {
    throw new AppError(ErrorCode.NOT_GROUP_ADMIN, "the owner stays an admin: transfer ownership first");
  }
  if (roleChange && target.member_type === pb.MemberType.GMT_ADMIN) {
    requireOwner(info, callerId, "demote an admin");
  }
}
