/** Socket packets of a device: decode, route by PackageType, answer in the socket's format. */
import { CloseCode, ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { decodeInput, encodeOutput, frameTooLarge, peekHeader, type InputFrame, type Reply } from "./frames";
import { closeWith, sendQuietly, writeAttachment, type SocketAttachment } from "./sockets";
import type { UserInbox } from "./user-inbox";

/** Refresh the stored last-seen time at most this often (each refresh serializes the attachment). */
const LAST_SEEN_GRANULARITY_MS = 10_000;

type Handler = (inbox: UserInbox, ws: WebSocket, attachment: SocketAttachment, frame: InputFrame) => Promise<Reply | null>;

const HANDLERS: Partial<Record<pb.PackageType, Handler>> = {
  [pb.PackageType.PT_SIGN_IN]: async (inbox, ws, attachment, frame) => {
    const input = frame.data as pb.SignInInput;
    try {
      if (input.userId !== inbox.userId || input.deviceId !== attachment.deviceId) {
        throw new AppError(ErrorCode.UNAUTHORIZED, "user_id and device_id must match the connection");
      }
      await inbox.authenticateOrThrow(input.deviceId, input.token);
    } catch (err) {
      // The stream cannot go on for a device that failed sign-in: answer, then close.
      sendQuietly(ws, encodeOutput(errorReply(frame, err), attachment.format));
      closeWith(ws, CloseCode.AUTH_FAILED, "sign-in failed");
      return null;
    }
    return { type: frame.type, requestId: frame.requestId };
  },
  [pb.PackageType.PT_HEARTBEAT]: async (_inbox, _ws, _attachment, frame) => ({ type: frame.type, requestId: frame.requestId }),
  [pb.PackageType.PT_SYNC]: async (inbox, _ws, _attachment, frame) => {
    const input = frame.data as pb.SyncInput;
    const data = inbox.syncPage(input.seq, input.limit);
    return { type: frame.type, requestId: frame.requestId, data, dataType: pb.SyncOutput };
  },
  [pb.PackageType.PT_MESSAGE]: async (inbox, _ws, attachment, frame) => {
    inbox.ack(attachment.deviceId, (frame.data as pb.MessageACK).deviceAck);
    return null;
  },
  [pb.PackageType.PT_SEND_MESSAGE]: async (inbox, _ws, attachment, frame) => {
    const seq = await inbox.send(attachment.deviceId, frame.data as pb.SendMessageReq);
    const data = pb.SendMessageResp.encode({ seq }).finish();
    return { type: frame.type, requestId: frame.requestId, data, dataType: pb.SendMessageResp };
  },
  [pb.PackageType.PT_SUBSCRIBE_ROOM]: async (inbox, ws, _attachment, frame) => {
    const input = frame.data as pb.SubscribeRoomInput;
    await inbox.subscribeRoom(ws, input.roomId, input.seq);
    return { type: frame.type, requestId: frame.requestId };
  },
  [pb.PackageType.PT_PUSH_ROOM]: async (inbox, _ws, attachment, frame) => {
    await inbox.pushToRoom(attachment.deviceId, frame.data as pb.PushRoomReq);
    return { type: frame.type, requestId: frame.requestId };
  },
};

/** Handles one inbound frame; every failure is answered with a code and the socket stays open. */
export async function dispatchFrame(
  inbox: UserInbox,
  ws: WebSocket,
  stored: SocketAttachment,
  frame: string | ArrayBuffer,
): Promise<void> {
  const now = Date.now();
  const format = typeof frame === "string" ? "json" : "binary";
  let attachment = stored;
  if (now - stored.lastSeenAt > LAST_SEEN_GRANULARITY_MS || stored.format !== format) {
    // Replies and pushes go out in the format of the client's last frame.
    attachment = { ...stored, lastSeenAt: now, format };
    writeAttachment(ws, attachment);
  }
  let reply: Reply | null;
  if (frameTooLarge(frame, inbox.limits.MAX_FRAME_BYTES)) {
    const header = peekHeader(frame);
    reply = errorReply(header, new AppError(ErrorCode.FRAME_TOO_LARGE, `frame larger than ${inbox.limits.MAX_FRAME_BYTES} bytes`));
  } else {
    let input: InputFrame | undefined;
    try {
      input = decodeInput(frame);
      const handler = HANDLERS[input.type];
      reply = handler ? await handler(inbox, ws, attachment, input) : null;
    } catch (err) {
      reply = errorReply(input ?? peekHeader(frame), err);
    }
  }
  if (reply) {
    sendQuietly(ws, encodeOutput(reply, format));
  }
}

function errorReply(header: { type: pb.PackageType; requestId: number }, err: unknown): Reply {
  if (err instanceof AppError) {
    return { type: header.type, requestId: header.requestId, code: err.code, message: err.message };
  }
  console.error("UserInbox: packet failed", err);
  return { type: header.type, requestId: header.requestId, code: ErrorCode.INTERNAL, message: "internal error" };
}
