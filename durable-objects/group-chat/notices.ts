/** Group notifications: MT_COMMAND messages from the system, ordered in the group log like chat. */
import { encodeMessage } from "../user-inbox/message-bytes";
import { pb } from "../../proto/gen/pb.js";

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
  added(groupId: number, optId: number, optName: string, members: pb.IGroupMember[], now: number): Uint8Array {
    const data = pb.AddGroupMembersPush.encode({ optId, optName, members }).finish();
    return noticeBody(groupId, pb.PushCode.PC_ADD_GROUP_MEMBERS, data, now);
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
