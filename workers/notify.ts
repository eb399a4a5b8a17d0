/** System notifications (gim's push payloads in MT_COMMAND messages), persisted in the target's inbox. */
import { encodeMessage } from "../durable-objects/user-inbox/message-bytes";
import { pb } from "../proto/gen/pb.js";
import type { Env } from "./env";
import { userInbox } from "./stubs";

/**
 * Delivers `Command{code, data}` from the system to `targetUserId`'s inbox, where it takes the
 * next seq and is pushed to every online device. `msgId` makes a retried notification a no-op.
 */
export async function notifyUser(env: Env, targetUserId: number, msgId: string, code: pb.PushCode, data: Uint8Array): Promise<void> {
  const body = encodeMessage({
    sender: { senderType: pb.SenderType.ST_SYSTEM },
    receiverType: pb.ReceiverType.RT_USER,
    receiverId: targetUserId,
    messageType: pb.MessageType.MT_COMMAND,
    messageContent: pb.Command.encode({ code, data }).finish(),
    sendTime: Date.now(),
    status: pb.MessageStatus.MS_NORMAL,
  });
  await userInbox(env, targetUserId).deliver([{ msgId, body }]);
}
