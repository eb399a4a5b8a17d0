/**
 * The socket envelope: pb.Input in, pb.Output out, as binary protobuf or as proto3 JSON text.
 * In JSON frames `data` holds the inner message as a JSON object (a base64 string is also
 * accepted on input), so a web client needs no protobuf library.
 */
import { decodeBinary, encode, fromJson, parseJson, toJson, type ProtoType } from "../../proto/codec";
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";

export type FrameFormat = "binary" | "json";

/** The inner message type of each client packet type (null: no payload). */
const INPUT_TYPES: Partial<Record<pb.PackageType, ProtoType<unknown> | null>> = {
  [pb.PackageType.PT_SIGN_IN]: pb.SignInInput,
  [pb.PackageType.PT_SYNC]: pb.SyncInput,
  [pb.PackageType.PT_HEARTBEAT]: null,
  [pb.PackageType.PT_MESSAGE]: pb.MessageACK,
  [pb.PackageType.PT_SUBSCRIBE_ROOM]: pb.SubscribeRoomInput,
  [pb.PackageType.PT_SEND_MESSAGE]: pb.SendMessageReq,
  [pb.PackageType.PT_PUSH_ROOM]: pb.PushRoomReq,
};

export interface InputFrame {
  type: pb.PackageType;
  requestId: number;
  /** The decoded inner message, or null for packets without payload. */
  data: unknown;
}

/** What a handler answers: the reply's type and inner message (encoded) with its proto type. */
export interface Reply {
  type: pb.PackageType;
  requestId: number;
  code?: number;
  message?: string;
  data?: Uint8Array;
  dataType?: ProtoType<unknown>;
}

/** Whether a frame is over `limitBytes`, text frames counted in UTF-8 bytes (as sent). */
export function frameTooLarge(frame: string | ArrayBuffer, limitBytes: number): boolean {
  if (typeof frame !== "string") {
    return frame.byteLength > limitBytes;
  }
  if (frame.length * 3 <= limitBytes) {
    return false; // a UTF-16 unit is at most 3 bytes of UTF-8: no need to count
  }
  return new TextEncoder().encode(frame).byteLength > limitBytes;
}

/** Reads the envelope's type and request id, for error replies to undecodable frames. */
export function peekHeader(frame: string | ArrayBuffer): { type: pb.PackageType; requestId: number } {
  try {
    const input: Record<string, unknown> =
      typeof frame === "string" ? (JSON.parse(frame) as Record<string, unknown>) : pb.Input.decode(new Uint8Array(frame)).toJSON();
    const typed = pb.Input.fromObject({ type: input.type, requestId: input.requestId ?? input.request_id });
    return { type: typed.type, requestId: typed.requestId };
  } catch {
    return { type: pb.PackageType.PT_UNKNOWN, requestId: 0 };
  }
}

/** Decodes one client frame; throws AppError(BAD_REQUEST | UNKNOWN_PACKET_TYPE). */
export function decodeInput(frame: string | ArrayBuffer): InputFrame {
  if (typeof frame === "string") {
    const json = parseJson(frame, "frame");
    if (!json || typeof json !== "object" || Array.isArray(json)) {
      throw new AppError(ErrorCode.BAD_REQUEST, "a text frame must be a JSON object (the Input envelope)");
    }
    const { data, ...header } = json as Record<string, unknown>;
    const input = fromJson(pb.Input, header, "Input");
    const innerType = innerTypeOf(input.type);
    if (innerType === null) {
      return { type: input.type, requestId: input.requestId, data: null };
    }
    const inner =
      typeof data === "string"
        ? decodeBinary(innerType, base64ToBytes(data), "data")
        : fromJson(innerType, data ?? {}, `data of ${pb.PackageType[input.type]}`);
    return { type: input.type, requestId: input.requestId, data: inner };
  }
  const input = decodeBinary(pb.Input, new Uint8Array(frame), "Input");
  const innerType = innerTypeOf(input.type);
  const inner = innerType === null ? null : decodeBinary(innerType, input.data, `data of ${pb.PackageType[input.type]}`);
  return { type: input.type, requestId: input.requestId, data: inner };
}

function innerTypeOf(type: pb.PackageType): ProtoType<unknown> | null {
  const innerType = INPUT_TYPES[type];
  if (innerType === undefined) {
    throw new AppError(ErrorCode.UNKNOWN_PACKET_TYPE, `unknown packet type ${type}`);
  }
  return innerType;
}

/** Encodes a reply in the socket's format. */
export function encodeOutput(reply: Reply, format: FrameFormat): string | Uint8Array {
  if (format === "binary") {
    return encode(pb.Output, {
      type: reply.type,
      requestId: reply.requestId,
      code: reply.code ?? 0,
      message: reply.message ?? "",
      data: reply.data ?? new Uint8Array(0),
    });
  }
  const out: Record<string, unknown> = toJson(pb.Output, pb.Output.create({
    type: reply.type,
    requestId: reply.requestId,
    code: reply.code ?? 0,
    message: reply.message ?? "",
  }));
  if (reply.data && reply.dataType) {
    out.data = toJson(reply.dataType, reply.dataType.decode(reply.data));
  }
  return JSON.stringify(out);
}

function base64ToBytes(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/"))), (c) => c.charCodeAt(0)); // URL-safe too
  } catch {
    throw new AppError(ErrorCode.BAD_REQUEST, "data is not valid base64");
  }
}
