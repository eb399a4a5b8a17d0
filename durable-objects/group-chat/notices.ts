/** Group notifications: MT_COMMAND messages from the system, ordered in the group log like chat. */
import { encodeMessage } from "../user-inbox/message-bytes";
import { pb } from "../../proto/gen/pb.js";
import { MAX_MESSAGE_BYTES } from "../shared/limits";

/** Room left in a notice for everything but its member list (envelope, ids, the operator's name). */
const NOTICE_ENVELOPE_BYTES = 256;

/** The encoded message (without seq) of a group notification. */
export function noticeBody(groupId: number, code: pb.PushCode, data: Uint8Array, now: number): Uint8Array {
  return encodeMessage({
    sender: { senderType: pb.SenderType.ST_SYSTEM },
    receiverType: pb.ReceiverType.RT_GROUP,
    receiverId: groupId,
    messageType: pb.MessageType.MT_COMMAND,
    messageContent: pb.Command.encode({ code, data }).finish(),
    sendTime: now,
    status: pb.MessageStatus.MS_NORMAL,
  });
}

export const notices = {
  update(groupId: number, optId: number, optName: string, info: pb.IUpdateGroupReq, now: number): Uint8Array {
    const data = pb.UpdateGroupPush.encode({ optId, optName, name: info.name, avatarUrl: info.avatarUrl, introduction: info.introduction, extra: info.extra }).finish();
    return noticeBody(groupId, pb.PushCode.PC_UPDATE_GROUP, data, now);
  },
  /**
   * One notice of added members, or several when their profiles do not fit one stored message
   * (MAX_MESSAGE_BYTES): each lists a part of the members, in order.
   */
  added(groupId: number, optId: number, optName: string, members: pb.IGroupMember[], now: number): Uint8Array[] {
    const budget = MAX_MESSAGE_BYTES - NOTICE_ENVELOPE_BYTES - new TextEncoder().encode(optName).length;
    const parts: pb.IGroupMember[][] = [[]];
    let used = 0;
    for (const member of members) {
      const size = pb.GroupMember.encode(member).finish().length + 4; // + field tag and length
      const part = parts.at(-1) as pb.IGroupMember[];
      if (part.length > 0 && used + size > budget) {
        parts.push([member]);
        used = size;
      } else {
        part.push(member);
        used += size;
      }
    }
    return parts.map((part) =>
      noticeBody(groupId, pb.PushCode.PC_ADD_GROUP_MEMBERS, pb.AddGroupMembersPush.encode({ optId, optName, members: part }).finish(), now),
    );
  },
  removed(groupId: number, optId: number, optName: string, deletedUserId: number, now: number): Uint8Array {
    const data = pb.RemoveGroupMemberPush.encode({ optId, optName, deletedUserId }).finish();
    return noticeBody(groupId, pb.PushCode.PC_REMOVE_GROUP_MEMBER, data, now);
  },
  dissolved(groupId: number, optId: number, optName: string, now: number): Uint8Array {
    return noticeBody(groupId, pb.PushCode.PC_DISSOLVE_GROUP, pb.DissolveGroupPush.encode({ optId, optName }).finish(), now);
  },
  transferred(groupId: number, optId: number, optName: string, newOwnerId: number, now: number): Uint8Array {
    const data = pb.TransferGroupOwnerPush.encode({ optId, optName, newOwnerId }).finish();
    return noticeBody(groupId, pb.PushCode.PC_TRANSFER_GROUP_OWNER, data, now);
  },
};

/** A member as listed in an "added" notice (gim's GroupMember with the user's profile). */
export function memberOf(user: pb.IUser | undefined, userId: number): pb.IGroupMember {
  return { userId, nickname: user?.nickname ?? "", sex: user?.sex ?? 0, avatarUrl: user?.avatarUrl ?? "", userExtra: user?.extra ?? "", memberType: pb.MemberType.GMT_MEMBER };
}
