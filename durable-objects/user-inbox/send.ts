/** Validation of a send request and the encoded message every inbox stores. */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import type { Limits } from "../shared/limits";
import { encodeMessage } from "./message-bytes";

export interface SenderProfile {
  nickname: string;
  avatarUrl: string;
  extra: string;
}

const MAX_CLIENT_MSG_ID_CHARS = 128;
const MAX_MENTIONS = 100;
/** A send_time further ahead of the server's clock than this is refused (clients skew less). */
const MAX_SEND_TIME_AHEAD_MS = 86_400_000;

/** Throws BAD_REQUEST for a send_time (ms, 0 = now) that is not a time a client could mean. */
export function requireSendTime(sendTime: number, now: number): void {
  if (sendTime < 0 || sendTime > now + MAX_SEND_TIME_AHEAD_MS) {
    throw new AppError(ErrorCode.BAD_REQUEST, "send_time must be ms since 1970, at most a day ahead (0 = now)");
  }
}

/** Throws AppError for requests no inbox can take. */
export function validateSend(req: pb.SendMessageReq, limits: Limits): void {
  switch (req.receiverType) {
    case pb.ReceiverType.RT_USER:
    case pb.ReceiverType.RT_GROUP:
      break;
    case pb.ReceiverType.RT_ROOM:
      throw new AppError(ErrorCode.BAD_REQUEST, "room messages are sent with PushRoom");
    default:
      throw new AppError(ErrorCode.BAD_REQUEST, "receiver_type must be RT_USER, RT_GROUP or RT_ROOM");
  }
  if (!(req.receiverId > 0)) {
    throw new AppError(ErrorCode.BAD_REQUEST, "receiver_id is required");
  }
  if (req.messageContent.length > limits.MAX_FRAME_BYTES) {
    throw new AppError(ErrorCode.BAD_REQUEST, `message_content is larger than ${limits.MAX_FRAME_BYTES} bytes`);
  }
  if (req.clientMsgId.length > MAX_CLIENT_MSG_ID_CHARS) {
    throw new AppError(ErrorCode.BAD_REQUEST, `client_msg_id is longer than ${MAX_CLIENT_MSG_ID_CHARS} characters`);
  }
  if (req.toUserIds.length > MAX_MENTIONS) {
    throw new AppError(ErrorCode.BAD_REQUEST, `to_user_ids has more than ${MAX_MENTIONS} entries`);
  }
  requireSendTime(req.sendTime, Date.now());
}

/** The encoded message (without seq) of a user's send, as every copy stores it. */
export function userMessageBody(
  req: pb.SendMessageReq,
  senderId: number,
  deviceId: number,
  profile: SenderProfile,
  now: number,
): Uint8Array {
  return encodeMessage({
    sender: {
      senderType: pb.SenderType.ST_USER,
      senderId,
      deviceId,
      nickname: profile.nickname,
      avatarUrl: profile.avatarUrl,
      extra: profile.extra,
    },
    receiverType: req.receiverType,
    receiverId: req.receiverId,
    toUserIds: req.toUserIds,
    messageType: req.messageType,
    messageContent: req.messageContent,
    sendTime: req.sendTime > 0 ? req.sendTime : now,
    status: pb.MessageStatus.MS_NORMAL,
    clientMsgId: req.clientMsgId,
  });
}
