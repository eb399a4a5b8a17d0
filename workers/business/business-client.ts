/**
 * Client of the business server's pb.BusinessInt (gim's hook: Auth, GetUser, GetUsers) in
 * Connect unary form, JSON or proto. Requests are signed and answers must be signed too; each
 * call has a timeout and limited retries; answers are cached for BUSINESS_CACHE_SECONDS.
 */
import { decodeBinary, encode, fromJson, toJson, type ProtoType } from "../../proto/codec";
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import type { Env } from "../env";
import { TtlCache } from "./ttl-cache";
import { signatureHeaders, verifySignature } from "./signing";

const MAX_ANSWER_BYTES = 1024 * 1024;
const MAX_PROFILE_FIELD_CHARS = 4096;
const ATTEMPTS = 3;

export interface BusinessConfig {
  url: string;
  secret: string;
  encoding: "json" | "proto";
  timeoutMs: number;
  cacheMs: number;
}

/** The business configuration, or null when the built-in business serves. */
export function businessConfig(env: Env): BusinessConfig | null {
  if (!env.BUSINESS_URL) {
    return null;
  }
  if (!env.BUSINESS_SECRET) {
    throw new AppError(ErrorCode.UNAVAILABLE, "BUSINESS_URL is set without BUSINESS_SECRET");
  }
  return {
    url: env.BUSINESS_URL.replace(/\/$/, ""),
    secret: env.BUSINESS_SECRET,
    encoding: env.BUSINESS_ENCODING === "proto" ? "proto" : "json",
    timeoutMs: Number(env.BUSINESS_TIMEOUT_MS ?? 3000),
    cacheMs: Number(env.BUSINESS_CACHE_SECONDS ?? 30) * 1000,
  };
}

// Per isolate: answers are shared by the requests an isolate serves.
const authCache = new TtlCache<string, true>(50_000);
const userCache = new TtlCache<number, pb.IUser | null>(50_000);
const authInFlight = new Map<string, Promise<void>>();

export class BusinessClient {
  constructor(private readonly config: BusinessConfig) {}

  /** Fails with UNAUTHORIZED when the business refuses, UNAVAILABLE when it cannot answer. */
  async auth(userId: number, deviceId: number, token: string): Promise<void> {
    const key = `${userId}:${deviceId}:${token}`;
    if (authCache.get(key)) {
      return;
    }
    // Concurrent checks of the same credentials (a client's first requests) share one call.
    let pending = authInFlight.get(key);
    if (!pending) {
      pending = this.#call("Auth", pb.AuthReq, pb.Empty, { userId, deviceId, token })
        .then(() => authCache.set(key, true, this.config.cacheMs))
        .finally(() => authInFlight.delete(key));
      authInFlight.set(key, pending);
    }
    await pending;
  }

  async getUsers(userIds: readonly number[]): Promise<Map<number, pb.IUser>> {
    const users = new Map<number, pb.IUser>();
    const missing: number[] = [];
    for (const id of new Set(userIds)) {
      const cached = userCache.get(id);
      if (cached) {
        users.set(id, cached);
      } else if (cached === undefined) {
        missing.push(id);
      }
    }
    if (missing.length > 0) {
      const resp = await this.#call("GetUsers", pb.GetUsersReq, pb.GetUsersResp, { userIds: Object.fromEntries(missing.map((id) => [id, 0])) });
      for (const id of missing) {
        const user = resp.users[id];
        const valid = user ? checkProfile({ ...pb.User.toObject(pb.User.fromObject(user as Record<string, unknown>)), userId: id }) : null;
        userCache.set(id, valid, this.config.cacheMs);
        if (valid) {
          users.set(id, valid);
        }
      }
    }
    return users;
  }

  async #call<Req, Res>(method: string, reqType: ProtoType<Req>, resType: ProtoType<Res>, req: Record<string, unknown>): Promise<Res> {
    const json = this.config.encoding === "json";
    const message = reqType.fromObject(req);
    const body = json ? new TextEncoder().encode(JSON.stringify(toJson(reqType, message))) : encode(reqType, message);
    let lastError: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.config.url}/pb.BusinessInt/${method}`, {
          method: "POST",
          headers: { "content-type": json ? "application/json" : "application/proto", ...(await signatureHeaders(this.config.secret, body)) },
          body,
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
      } catch (err) {
        lastError = err; // network error or timeout: retry
        continue;
      }
      const answer = await readLimited(res);
      if (res.status >= 500) {
        // Retried whether signed or not: a proxy in front of the business answers 502-504 unsigned.
        lastError = new Error(`HTTP ${res.status}`);
        continue;
      }
      if (!(await verifySignature(this.config.secret, res.headers, answer))) {
        throw new AppError(ErrorCode.UNAVAILABLE, `business server answer to ${method} is not signed correctly`);
      }
      if (!res.ok) {
        const err = safeJson(answer);
        const refused = res.status === 401 || err.code === "unauthenticated";
        throw new AppError(refused ? ErrorCode.UNAUTHORIZED : ErrorCode.BAD_REQUEST, `business server: ${String(err.message ?? `HTTP ${res.status}`)}`);
      }
      return json ? fromJson(resType, safeJson(answer), `${method} answer`) : decodeBinary(resType, answer, `${method} answer`);
    }
    console.warn(`business server ${method} failed ${ATTEMPTS} times`, lastError);
    throw new AppError(ErrorCode.UNAVAILABLE, "the business server is unavailable; try again later");
  }
}

async function readLimited(res: Response): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? 0);
  if (declared > MAX_ANSWER_BYTES) {
    throw new AppError(ErrorCode.UNAVAILABLE, "business server answer is too large");
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > MAX_ANSWER_BYTES) {
    throw new AppError(ErrorCode.UNAVAILABLE, "business server answer is too large");
  }
  return bytes;
}

function safeJson(bytes: Uint8Array): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Blanks oversize profile fields: a profile is copied into every message its user sends, so a
 * 1 MB nickname must not reach them. The user itself stays known.
 */
function checkProfile(user: pb.IUser): pb.IUser {
  const fields = [user.nickname, user.avatarUrl, user.extra];
  if (fields.some((f) => (f ?? "").length > MAX_PROFILE_FIELD_CHARS)) {
    console.warn(`business server: profile of user ${user.userId} has a field over ${MAX_PROFILE_FIELD_CHARS} characters; its fields are dropped`);
    return { ...user, nickname: "", avatarUrl: "", extra: "" };
  }
  return user;
}
