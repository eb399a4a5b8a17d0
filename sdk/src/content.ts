/** Message content: encoding text, and decoding any message's content and system notifications. */
import { pb } from "../../proto/gen/pb.js";

/** The decoded content of a message, by `messageType`. */
export type MessageContent =
  | { type: "text"; text: string }
  | { type: "face"; face: pb.Face }
  | { type: "voice"; voice: pb.Voice }
  | { type: "image"; image: pb.Image }
  | { type: "file"; file: pb.File }
  | { type: "location"; location: pb.Location }
  | { type: "command"; command: Notification }
  | { type: "custom"; data: string }
  | { type: "unknown"; bytes: Uint8Array };

/** The payload of each system notification code (push.ext.proto). */
export type PushPayload =
  | pb.AddFriendPush
  | pb.AgreeAddFriendPush
  | pb.RejectAddFriendPush
  | pb.DeleteFriendPush
  | pb.UpdateGroupPush
  | pb.AddGroupMembersPush
  | pb.RemoveGroupMemberPush
  | pb.DissolveGroupPush
  | pb.TransferGroupOwnerPush;

/** A decoded `Command`: `code` is a PushCode (below 1000) or a business code; `push` its payload. */
export interface Notification {
  code: number;
  /** The decoded payload for the PushCodes of push.ext.proto; null for other codes. */
  push: PushPayload | null;
  /** The raw `Command.data`. */
  data: Uint8Array;
}

const PUSH_TYPES: Partial<Record<number, { decode(bytes: Uint8Array): PushPayload }>> = {
  [pb.PushCode.PC_ADD_FRIEND]: pb.AddFriendPush,
  [pb.PushCode.PC_AGREE_ADD_FRIEND]: pb.AgreeAddFriendPush,
  [pb.PushCode.PC_REJECT_ADD_FRIEND]: pb.RejectAddFriendPush,
  [pb.PushCode.PC_DELETE_FRIEND]: pb.DeleteFriendPush,
  [pb.PushCode.PC_UPDATE_GROUP]: pb.UpdateGroupPush,
  [pb.PushCode.PC_ADD_GROUP_MEMBERS]: pb.AddGroupMembersPush,
  [pb.PushCode.PC_REMOVE_GROUP_MEMBER]: pb.RemoveGroupMemberPush,
  [pb.PushCode.PC_DISSOLVE_GROUP]: pb.DissolveGroupPush,
  [pb.PushCode.PC_TRANSFER_GROUP_OWNER]: pb.TransferGroupOwnerPush,
};

/** `message_content` of an MT_TEXT message. */
export function textContent(text: string): Uint8Array {
  return pb.Text.encode({ text }).finish();
}

/** Decodes a `Command`; an unknown code keeps `push` null, broken bytes give code 0. */
export function decodeCommand(bytes: Uint8Array): Notification {
  try {
    const command = pb.Command.decode(bytes);
    const type = PUSH_TYPES[command.code];
    return { code: command.code, push: type ? type.decode(command.data) : null, data: command.data };
  } catch {
    return { code: 0, push: null, data: bytes };
  }
}

/** Decodes a message's content by its type; never throws (broken content is "unknown"). */
export function decodeContent(message: Pick<pb.IMessage, "messageType" | "messageContent">): MessageContent {
  const bytes = message.messageContent ?? new Uint8Array(0);
  try {
    switch (message.messageType) {
      case pb.MessageType.MT_TEXT:
        return { type: "text", text: pb.Text.decode(bytes).text };
      case pb.MessageType.MT_FACE:
        return { type: "face", face: pb.Face.decode(bytes) };
      case pb.MessageType.MT_VOICE:
        return { type: "voice", voice: pb.Voice.decode(bytes) };
      case pb.MessageType.MT_IMAGE:
        return { type: "image", image: pb.Image.decode(bytes) };
      case pb.MessageType.MT_FILE:
        return { type: "file", file: pb.File.decode(bytes) };
      case pb.MessageType.MT_LOCATION:
        return { type: "location", location: pb.Location.decode(bytes) };
      case pb.MessageType.MT_COMMAND:
        return { type: "command", command: decodeCommand(bytes) };
      case pb.MessageType.MT_CUSTOM:
        return { type: "custom", data: pb.Custom.decode(bytes).data };
      default:
        return { type: "unknown", bytes };
    }
  } catch {
    return { type: "unknown", bytes };
  }
}

/** A plain-text line for a message: its text, or a short description of other content. */
export function describeContent(content: MessageContent): string {
  switch (content.type) {
    case "text":
      return content.text;
    case "command":
      return describeNotification(content.command);
    case "image":
      return `[image ${content.image.url}]`;
    case "file":
      return `[file ${content.file.name}]`;
    case "voice":
      return `[voice ${content.voice.duration}s]`;
    case "face":
      return `[sticker ${content.face.faceId}]`;
    case "location":
      return `[location ${content.location.desc}]`;
    case "custom":
      return `[custom ${content.data}]`;
    default:
      return "[unsupported message]";
  }
}

/** One sentence for a system notification. */
export function describeNotification(n: Notification): string {
  const p = n.push as Partial<Record<string, unknown>> | null;
  const who = (id: unknown, name: unknown) => (name ? `${String(name)} (${String(id)})` : `user ${String(id)}`);
  switch (n.code) {
    case pb.PushCode.PC_ADD_FRIEND:
      return `${who(p?.friendId, p?.nickname)} wants to be your friend${p?.description ? `: "${String(p.description)}"` : ""}`;
    case pb.PushCode.PC_AGREE_ADD_FRIEND:
      return `${who(p?.friendId, p?.nickname)} accepted your friend request`;
    case pb.PushCode.PC_REJECT_ADD_FRIEND:
      return `${who(p?.friendId, p?.nickname)} declined your friend request`;
    case pb.PushCode.PC_DELETE_FRIEND:
      return `${who(p?.friendId, "")} removed you as a friend`;
    case pb.PushCode.PC_UPDATE_GROUP:
      return `${who(p?.optId, p?.optName)} updated the group`;
    case pb.PushCode.PC_ADD_GROUP_MEMBERS: {
      const members = (p?.members as pb.IGroupMember[] | undefined) ?? [];
      return `${who(p?.optId, p?.optName)} added ${members.map((m) => who(m.userId, m.nickname)).join(", ") || "members"}`;
    }
    case pb.PushCode.PC_REMOVE_GROUP_MEMBER:
      return `${who(p?.optId, p?.optName)} removed user ${String(p?.deletedUserId)}`;
    case pb.PushCode.PC_DISSOLVE_GROUP:
      return `${who(p?.optId, p?.optName)} dissolved the group`;
    case pb.PushCode.PC_TRANSFER_GROUP_OWNER:
      return `${who(p?.optId, p?.optName)} made user ${String(p?.newOwnerId)} the owner`;
    default:
      return `[notification ${n.code}]`;
  }
}
