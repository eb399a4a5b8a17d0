/** The events a user inbox emits for the business (see docs/business.md for their shapes). */
import { pb } from "../../proto/gen/pb.js";

const FRIEND_EVENTS: Partial<Record<number, string>> = {
  [pb.PushCode.PC_ADD_FRIEND]: "friend.requested",
  [pb.PushCode.PC_AGREE_ADD_FRIEND]: "friend.agreed",
  [pb.PushCode.PC_REJECT_ADD_FRIEND]: "friend.rejected",
  [pb.PushCode.PC_DELETE_FRIEND]: "friend.deleted",
};

export interface OfflineDevice {
  device_id: number;
  brand_push_id: string;
}

/**
 * The events for one stored message: always `message.persisted` (with the devices that were
 * offline, for vendor pushes), plus a friend event for friend notifications.
 */
export function messageEvents(userId: number, seq: number, msgId: string, body: Uint8Array, offline: OfflineDevice[]): [string, Record<string, unknown>][] {
  const message = pb.Message.decode(body);
  const command = message.messageType === pb.MessageType.MT_COMMAND ? pb.Command.decode(message.messageContent) : null;
  const events: [string, Record<string, unknown>][] = [
    [
      "message.persisted",
      {
        user_id: userId,
        seq,
        msg_id: msgId,
        sender_type: pb.SenderType[message.sender?.senderType ?? 0],
        sender_id: message.sender?.senderId ?? 0,
        receiver_type: pb.ReceiverType[message.receiverType],
        receiver_id: message.receiverId,
        message_type: pb.MessageType[message.messageType],
        ...(command ? { command_code: command.code } : {}),
        send_time: message.sendTime,
        offline_devices: offline,
      },
    ],
  ];
  const friendEvent = command && message.receiverType === pb.ReceiverType.RT_USER ? FRIEND_EVENTS[command.code] : undefined;
  if (friendEvent && command) {
    const friendId = (pb.DeleteFriendPush.decode(command.data) as { friendId: number }).friendId; // field 1 in every friend push
    events.push([friendEvent, { user_id: userId, friend_id: friendId }]);
  }
  return events;
}
