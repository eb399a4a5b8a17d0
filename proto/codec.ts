/** Binary and proto3-JSON conversion for generated message types, with errors as AppError(BAD_REQUEST). */
import protobuf, { type Writer } from "protobufjs/minimal.js";
import { ErrorCode } from "./codes";
import { AppError } from "./errors";

// proto3 JSON parsers accept bytes in URL-safe base64 too, but protobufjs's decoder (used by every
// generated fromObject) knows only the standard alphabet: map the two characters that differ.
const decodeStandardBase64 = protobuf.util.base64.decode;
protobuf.util.base64.decode = (text: string, buffer: Uint8Array, offset: number): number =>
  decodeStandardBase64(text.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")), buffer, offset);

/** The static side of a protobufjs generated message class. */
export interface ProtoType<T> {
  decode(bytes: Uint8Array): T;
  fromObject(object: Record<string, unknown>): T;
  // NoInfer: T is the message class (from decode), not the looser interface these accept.
  encode(message: NoInfer<T>): Writer;
  toObject(message: NoInfer<T>, options?: Record<string, unknown>): Record<string, unknown>;
  verify(message: Record<string, unknown>): string | null;
}

/** proto3 JSON output: lowerCamelCase names, int64 as strings, enums by name, bytes in base64. */
const JSON_OUTPUT = { longs: String, enums: String, bytes: String, defaults: false } as const;

const SNAKE = /_([a-z0-9])/g;

/** Accepts snake_case field names beside lowerCamelCase (proto3 JSON parsers must). */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(camelKeys);
  }
  if (value === null || typeof value !== "object") {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key.replace(SNAKE, (_, c: string) => c.toUpperCase())] = camelKeys(inner);
  }
  return out;
}

/** Decodes protobuf bytes; invalid input becomes AppError(BAD_REQUEST). */
export function decodeBinary<T>(type: ProtoType<T>, bytes: Uint8Array, what: string): T {
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new AppError(ErrorCode.BAD_REQUEST, `invalid protobuf for ${what}`, { cause: err });
  }
}

/** Converts a parsed proto3 JSON value to a message; wrong shapes become AppError(BAD_REQUEST). */
export function fromJson<T>(type: ProtoType<T>, json: unknown, what: string): T {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new AppError(ErrorCode.BAD_REQUEST, `${what} must be a JSON object`);
  }
  let message: T;
  try {
    message = type.fromObject(camelKeys(json) as Record<string, unknown>);
  } catch (err) {
    throw new AppError(ErrorCode.BAD_REQUEST, `invalid ${what}: ${(err as Error).message}`);
  }
  const problem = type.verify(message as Record<string, unknown>);
  if (problem) {
    throw new AppError(ErrorCode.BAD_REQUEST, `invalid ${what}: ${problem}`);
  }
  return message;
}

/** Converts a message to its proto3 JSON object. */
export function toJson<T>(type: ProtoType<T>, message: T): Record<string, unknown> {
  return type.toObject(message, JSON_OUTPUT);
}

/** Parses JSON text; a syntax error becomes AppError(BAD_REQUEST). */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError(ErrorCode.BAD_REQUEST, `${what} is not valid JSON`);
  }
}

/** Encodes a message or a plain object of its fields. */
export function encode<I>(type: { encode(message: I): Writer }, message: I): Uint8Array {
  return type.encode(message).finish();
}
