// How the CLI prints messages and events: one readable line each, or one JSON object per line
// (--json) for scripts.
import { decodeContent, describeContent, pb } from "../web/gim-sdk.js";

const RECEIVER = { [pb.ReceiverType.RT_USER]: "user", [pb.ReceiverType.RT_GROUP]: "group", [pb.ReceiverType.RT_ROOM]: "room" };

/** A message as a plain JSON-able object. */
export function messageRecord(message, event = "message") {
  const content = decodeContent(message);
  const record = {
    event,
    seq: message.seq,
    from: message.sender?.senderId ?? 0,
    fromName: message.sender?.nickname ?? "",
    fromDevice: message.sender?.deviceId ?? 0,
    system: message.sender?.senderType === pb.SenderType.ST_SYSTEM,
    to: { type: RECEIVER[message.receiverType] ?? "unknown", id: message.receiverId },
    type: content.type,
    sendTime: message.sendTime,
    clientMsgId: message.clientMsgId || undefined,
  };
  if (content.type === "text") {
    record.text = content.text;
  } else if (content.type === "command") {
    record.code = content.command.code;
    record.push = content.command.push ? content.command.push.toJSON() : null;
    record.text = describeContent(content);
  } else {
    record.text = describeContent(content);
  }
  return record;
}

/**
 * Text from other users as one safe terminal line: control characters (newlines, escape
 * sequences) are shown as \u{…} instead of moving the cursor or faking a line.
 */
function printable(text) {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

function who(id, name, me) {
  if (id === me) {
    return "you";
  }
  return name ? `${printable(name)} (${id})` : `user ${id}`;
}

/** "#12 14:03:05 Alice (1) → you: hello" */
export function messageLine(message, me) {
  const r = messageRecord(message);
  const time = new Date(r.sendTime || Date.now()).toTimeString().slice(0, 8);
  const seq = r.seq ? `#${r.seq}` : "#-";
  if (r.system) {
    return `${seq} ${time} * ${printable(r.text)}`;
  }
  const to = r.to.type === "user" ? who(r.to.id, "", me) : `${r.to.type} ${r.to.id}`;
  return `${seq} ${time} ${who(r.from, r.fromName, me)} → ${to}: ${printable(r.text)}`;
}

/** Prints results to stdout (lines, or JSON with --json) and progress to stderr (unless --quiet). */
export function createPrinter({ json = false, quiet = false } = {}) {
  return {
    json,
    /** A result or record: JSON as is; for people, `line` (or nothing when it is null). */
    out(record, line) {
      if (json) {
        process.stdout.write(JSON.stringify(record) + "\n");
      } else if (line !== null) {
        process.stdout.write((line ?? String(record)) + "\n");
      }
    },
    /** Progress and connection state, on stderr so that stdout stays clean for pipes. */
    info(text) {
      if (!quiet) {
        process.stderr.write(text + "\n");
      }
    },
    /** A failure the user must see, on stderr even with --quiet. */
    error(text) {
      process.stderr.write(text + "\n");
    },
  };
}
