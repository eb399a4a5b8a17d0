/**
 * Byte-level helpers on encoded messages. A message is encoded once when it is sent; every inbox
 * appends its own seq and every reply or push wraps the stored bytes without decoding them.
 */
import protobuf from "protobufjs/minimal.js";
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { MAX_MESSAGE_BYTES } from "../shared/limits";

const { Writer } = protobuf;
const MESSAGE_SEQ_TAG = (7 << 3) | 0; // pb.Message.seq, varint
const REPEATED_MESSAGES_TAG = (1 << 3) | 2; // pb.SyncOutput.messages and pb.MessageSend.message
const HAS_MORE_TAG = (2 << 3) | 0; // pb.SyncOutput.has_more
const LAST_SEQ_TAG = (3 << 3) | 0; // pb.SyncOutput.last_seq

/**
 * Returns `body` (an encoded pb.Message without seq) with `seq` appended. Protobuf decoders keep
 * the last value of a scalar field, so this equals re-encoding the message with the seq set.
 */
export function withSeq(body: Uint8Array, seq: number): Uint8Array {
  const tail = Writer.create().uint32(MESSAGE_SEQ_TAG).int64(seq).finish();
  const out = new Uint8Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

/** Length of one message once framed as a repeated field (tag + length varint + bytes). */
export function framedLength(body: Uint8Array | ArrayBuffer): number {
  const n = body.byteLength;
  return 1 + (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4) + n;
}

/** An encoded pb.SyncOutput made of stored message bodies. */
export function syncOutputBytes(bodies: readonly ArrayBuffer[], hasMore: boolean, lastSeq: number): Uint8Array {
  const writer = Writer.create();
  for (const body of bodies) {
    writer.uint32(REPEATED_MESSAGES_TAG).bytes(new Uint8Array(body));
  }
  if (hasMore) {
    writer.uint32(HAS_MORE_TAG).bool(true);
  }
  if (lastSeq > 0) {
    writer.uint32(LAST_SEQ_TAG).int64(lastSeq);
  }
  return writer.finish();
}

/** An encoded pb.MessageSend carrying one stored message body. */
export function messageSendBytes(body: Uint8Array): Uint8Array {
  return Writer.create().uint32(REPEATED_MESSAGES_TAG).bytes(body).finish();
}

/** Encodes a message without seq, ready for `withSeq` in each inbox. */
export function encodeMessage(message: pb.IMessage): Uint8Array {
  const bytes = ownBytes(pb.Message.encode({ ...message, seq: 0 }).finish());
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new AppError(
      ErrorCode.BAD_REQUEST,
      `the message is ${bytes.length} bytes encoded (content, sender and ids); at most ${MAX_MESSAGE_BYTES} are stored`,
    );
  }
  return bytes;
}

/**
 * protobufjs writes small messages into a shared 8 KiB slab and returns a view of it. A view sent
 * to another object carries the whole slab (structured clone copies the underlying buffer), and
 * one kept in memory pins it, so a message body is copied into a buffer of its own once.
 */
function ownBytes(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : new Uint8Array(view);
}
