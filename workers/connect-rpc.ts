/**
 * Connect unary form of gim's gRPC services: `POST /pb.<Service>/<Method>` with an
 * `application/json` (proto3 JSON) or `application/proto` body, answered in the same encoding;
 * errors as Connect error JSON with the matching HTTP status.
 */
import type { Context } from "hono";
import { decodeBinary, encode, fromJson, parseJson, toJson, type ProtoType } from "../proto/codec";
import { codeInfo, ErrorCode } from "../proto/codes";
import { connectErrorBody } from "../proto/connect-error";
import { AppError } from "../proto/errors";
import { credentialId } from "./credentials";
import type { AppEnv } from "./env";

/** A caller authenticated by the `user_id`, `device_id` and `token` headers. */
export interface Caller {
  userId: number;
  deviceId: number;
  token: string;
}

/** "verify": the caller's credentials are checked before the handler; "none": no credentials (SignIn, RegisterDevice, LogicInt behind its own secret). */
export type AuthMode = "verify" | "none";

export interface UnaryMethod<Req> {
  request: ProtoType<Req>;
  response: ProtoType<unknown>;
  auth: AuthMode;
  /** Returns the response as a message or a plain object of its fields. */
  handle(c: Context<AppEnv>, req: Req, caller: Caller): Promise<object>;
}

/** Declares one method; keeps the request type tied to its handler. */
export function unary<Req>(method: UnaryMethod<Req>): UnaryMethod<unknown> {
  return method as UnaryMethod<unknown>;
}

export type Service = Record<string, UnaryMethod<unknown>>;

const MAX_BODY_BYTES = 1024 * 1024;

type Encoding = "json" | "proto";

function encodingOf(contentType: string | undefined): Encoding | null {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  if (type === "application/json") {
    return "json";
  }
  if (type === "application/proto" || type === "application/x-protobuf") {
    return "proto";
  }
  return null;
}

/** Past this much a body too large is no longer read to its end, and the connection may break. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * The request body, at most `maxBytes` kept whatever its stated length. A larger body is still
 * read (not kept) before the error answer: answering a body not read makes the runtime close the
 * connection, which clients still writing report as a broken pipe instead of the error.
 */
async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) {
    return new Uint8Array(0);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    size += value.byteLength;
    if (size <= maxBytes) {
      chunks.push(value);
    } else if (size > MAX_DRAIN_BYTES) {
      await reader.cancel();
      break;
    }
  }
  if (size > maxBytes) {
    throw new AppError(ErrorCode.FRAME_TOO_LARGE, `request body larger than ${maxBytes} bytes`);
  }
  if (chunks.length === 1) {
    return chunks[0] as Uint8Array;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const bodies = new WeakMap<Request, Promise<Uint8Array>>();

/** The request's body as readBody gives it, read once however many handlers ask. */
export function requestBody(c: Context<AppEnv>): Promise<Uint8Array> {
  let body = bodies.get(c.req.raw);
  if (!body) {
    body = readBody(c.req.raw, MAX_BODY_BYTES);
    bodies.set(c.req.raw, body);
  }
  return body;
}

/** Reads a credential header by gim's metadata name, or its dashed form. */
function header(c: Context<AppEnv>, name: string): string {
  return c.req.header(name) ?? c.req.header(name.replace(/_/g, "-")) ?? "";
}

export function readCaller(c: Context<AppEnv>): Caller {
  const userId = credentialId(header(c, "user_id"));
  const deviceId = credentialId(header(c, "device_id"));
  const token = header(c, "token");
  if (!userId || !deviceId || !token) {
    throw new AppError(ErrorCode.UNAUTHORIZED, "user_id, device_id and token headers are required");
  }
  return { userId, deviceId, token };
}

/**
 * Serves one unary call; `authenticate` checks the caller's token. The body is read before any
 * answer: replying early to an unread body makes the runtime close the connection, which HTTP
 * clients still writing it report as a broken pipe instead of our error.
 */
export async function serveUnary(
  c: Context<AppEnv>,
  service: Service | undefined,
  methodName: string,
  authenticate: (c: Context<AppEnv>, caller: Caller) => Promise<void>,
): Promise<Response> {
  const bytes = await requestBody(c);
  const method = service && Object.hasOwn(service, methodName) ? service[methodName] : undefined;
  if (!method) {
    throw new AppError(ErrorCode.UNIMPLEMENTED, `${c.req.path.slice(1)} is not implemented`);
  }
  const encoding = encodingOf(c.req.header("content-type"));
  if (!encoding) {
    return c.json(connectErrorBody(ErrorCode.BAD_REQUEST, "content-type must be application/json or application/proto"), 415);
  }
  const req =
    encoding === "proto"
      ? decodeBinary(method.request, bytes, methodName)
      : fromJson(method.request, bytes.length === 0 ? {} : parseJson(new TextDecoder().decode(bytes), "request body"), methodName);
  const caller = method.auth === "none" ? { userId: 0, deviceId: 0, token: "" } : readCaller(c);
  if (method.auth === "verify") {
    await authenticate(c, caller);
  }
  const res = method.response.fromObject((await method.handle(c, req, caller)) as Record<string, unknown>);
  if (encoding === "proto") {
    return new Response(encode(method.response, res), { headers: { "content-type": "application/proto" } });
  }
  return c.json(toJson(method.response, res));
}

/** The flags the runtime sets on Durable Object errors that are not our code's (Cloudflare's error handling). */
interface PlatformError extends Error {
  overloaded?: boolean;
  retryable?: boolean;
  durableObjectReset?: boolean;
}

/**
 * A Durable Object that was overloaded, reset (for example when it could not open its database
 * because the machine ran out of files) or briefly unreachable: the request may work later, so
 * the caller gets 503 `unavailable` and a hint, not 500 `internal`.
 */
function unavailableMessage(err: unknown): string | null {
  if (!(err instanceof Error)) {
    return null;
  }
  const flags = err as PlatformError;
  if (flags.overloaded) {
    return "the server is overloaded; retry later with backoff";
  }
  if (flags.retryable || flags.durableObjectReset) {
    return "the user's object is restarting or out of resources; retry with backoff";
  }
  return null;
}

/** Maps any thrown error to a Connect error response; unknown errors are logged, not exposed. */
export function errorResponse(c: Context<AppEnv>, err: unknown): Response {
  if (err instanceof AppError) {
    return c.json(connectErrorBody(err.code, err.message), codeInfo(err.code).httpStatus as 400);
  }
  console.error(`${c.req.method} ${c.req.path} failed`, err);
  const unavailable = unavailableMessage(err);
  if (unavailable) {
    return c.json(connectErrorBody(ErrorCode.UNAVAILABLE, unavailable), 503);
  }
  return c.json(connectErrorBody(ErrorCode.INTERNAL, "internal error"), 500);
}
