#!/usr/bin/env node
// An example business server for gim on the edge: the template integrators copy.
//
// It owns the users and their tokens and implements gim's hook, pb.BusinessInt (Auth, GetUser,
// GetUsers), in Connect unary form (JSON or binary proto). It also receives the event webhooks
// and answers the before-send moderation hook. Every request from gim is signed with the shared
// secret and checked here (HMAC-SHA256 over "<timestamp>.<body>", replays refused); every answer
// is signed the same way, because gim checks it.
//
// Environment: PORT (default 9300; 0 = any free port), BUSINESS_SECRET (required),
// DATA_FILE (optional JSON file that keeps users, tokens and events across restarts).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { pb } from "../../proto/gen/pb.js";

const SECRET = process.env.BUSINESS_SECRET;
if (!SECRET) {
  console.error("BUSINESS_SECRET is required");
  process.exit(2);
}
const PORT = Number(process.env.PORT ?? 9300);
const DATA_FILE = process.env.DATA_FILE;
const WINDOW_MS = 5 * 60_000;
const MAX_BODY = 1024 * 1024;

// ---- state (a real business keeps this in its own database) ----
const state = DATA_FILE && existsSync(DATA_FILE)
  ? JSON.parse(readFileSync(DATA_FILE, "utf8"))
  : { nextUserId: 1, users: {}, tokens: {}, events: [] };
const seenSignatures = new Map(); // signature -> expiry, against replays
/** Test switches: answer unsigned, answer slowly, serve a huge profile, fail like a proxy. */
const mode = { unsigned: false, delayMs: 0, hugeProfileUserId: 0, proxyErrors: 0 };
/** Calls received per pb.BusinessInt method and of the before-send hook (/admin/calls), for tests. */
const calls = {};

function save() {
  if (DATA_FILE) {
    writeFileSync(DATA_FILE, JSON.stringify(state));
  }
}

// ---- signatures ----
function sign(timestamp, body) {
  return createHmac("sha256", SECRET).update(`${timestamp}.`).update(body).digest("hex");
}

function signedHeaders(body) {
  const timestamp = String(Date.now());
  return mode.unsigned ? {} : { "x-gim-timestamp": timestamp, "x-gim-signature": sign(timestamp, body) };
}

/** Checks gim's signature: fresh, correct, and not seen before (a replayed request is refused). */
function verify(req, body) {
  const timestamp = String(req.headers["x-gim-timestamp"] ?? "");
  const signature = String(req.headers["x-gim-signature"] ?? "");
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > WINDOW_MS || !/^[0-9a-f]{64}$/.test(signature)) {
    return false;
  }
  const expected = Buffer.from(sign(timestamp, body), "hex");
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    return false;
  }
  const now = Date.now();
  for (const [seen, expiry] of seenSignatures) {
    if (expiry < now) seenSignatures.delete(seen);
  }
  if (seenSignatures.has(signature)) {
    return false;
  }
  seenSignatures.set(signature, now + 2 * WINDOW_MS);
  return true;
}

// ---- HTTP helpers ----
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res, status, body, contentType = "application/json") {
  const bytes = Buffer.isBuffer(body) || body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": contentType, "content-length": bytes.length, ...signedHeaders(bytes) });
  res.end(bytes);
}

const connectError = (res, status, code, message) => send(res, status, { code, message });

// ---- users ----
function profile(userId) {
  const user = state.users[userId];
  if (!user) return null;
  const huge = mode.hugeProfileUserId === Number(userId);
  return { userId: Number(userId), nickname: huge ? "x".repeat(100_000) : user.nickname, avatarUrl: user.avatarUrl ?? "", extra: user.extra ?? "", sex: 0 };
}

// ---- pb.BusinessInt ----
const businessInt = {
  Auth: [pb.AuthReq, pb.Empty, (req) => {
    const expected = state.tokens[`${req.userId}:${req.deviceId}`];
    if (!expected || expected !== req.token) {
      return { error: [401, "unauthenticated", "invalid token"] };
    }
    return {};
  }],
  GetUser: [pb.GetUserReq, pb.GetUserResp, (req) => {
    const user = profile(req.userId);
    return user ? { user } : { error: [404, "not_found", `user ${req.userId} does not exist`] };
  }],
  GetUsers: [pb.GetUsersReq, pb.GetUsersResp, (req) => {
    const users = {};
    for (const id of Object.keys(req.userIds ?? {})) {
      const user = profile(id);
      if (user) users[id] = user;
    }
    return { users };
  }],
};

async function serveBusinessInt(method, req, res, body) {
  calls[method] = (calls[method] ?? 0) + 1;
  const entry = businessInt[method];
  if (!entry) return connectError(res, 501, "unimplemented", `${method} is not implemented`);
  const [reqType, resType, handle] = entry;
  const binary = String(req.headers["content-type"] ?? "").startsWith("application/proto");
  const input = binary ? reqType.decode(body) : reqType.fromObject(JSON.parse(body.toString() || "{}"));
  const result = handle(input);
  if (result.error) {
    const [status, code, message] = result.error;
    return connectError(res, status, code, message);
  }
  const message = resType.fromObject(result);
  return binary
    ? send(res, 200, resType.encode(message).finish(), "application/proto")
    : send(res, 200, resType.toObject(message, { longs: String, enums: String, bytes: String }));
}

// ---- webhooks ----
function receiveEvents(res, body) {
  const { events = [] } = JSON.parse(body.toString());
  const known = new Set(state.events.map((e) => e.id));
  for (const event of events) {
    if (!known.has(event.id)) {
      state.events.push(event); // at-least-once delivery: dedup by event id
      known.add(event.id);
    }
  }
  save();
  send(res, 200, { received: events.length });
}

/** Moderation: refuses messages containing "forbidden", rewrites "darn". */
function beforeSend(res, body) {
  calls.beforeSend = (calls.beforeSend ?? 0) + 1;
  const request = JSON.parse(body.toString());
  const text = request.message_type === "MT_TEXT" ? pb.Text.decode(Buffer.from(request.message_content, "base64")).text : "";
  if (text.includes("forbidden")) {
    return send(res, 200, { action: "reject", reason: "this word is not allowed here" });
  }
  if (text.includes("darn")) {
    const rewritten = pb.Text.encode({ text: text.replaceAll("darn", "d**n") }).finish();
    return send(res, 200, { action: "rewrite", message_content: Buffer.from(rewritten).toString("base64") });
  }
  return send(res, 200, { action: "allow" });
}

// ---- the app's own API (your app's sign-up and sign-in; gim never calls these) ----
function appApi(path, res, input) {
  if (path === "/app/sign-up") {
    const id = state.nextUserId++;
    state.users[id] = { phone: String(input.phone ?? ""), nickname: String(input.nickname ?? ""), avatarUrl: "", extra: "" };
    save();
    return send(res, 200, { user_id: id });
  }
  if (path === "/app/sign-in") {
    if (!state.users[input.user_id] || !(Number(input.device_id) > 0)) return send(res, 400, { message: "unknown user or device" });
    const token = randomBytes(24).toString("base64url");
    state.tokens[`${input.user_id}:${input.device_id}`] = token;
    save();
    return send(res, 200, { token });
  }
  return send(res, 404, { message: "not found" });
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    const body = await readBody(req);
    if (mode.delayMs) await new Promise((r) => setTimeout(r, mode.delayMs));
    if (url.pathname.startsWith("/app/")) return appApi(url.pathname, res, JSON.parse(body.toString() || "{}"));
    if (url.pathname === "/admin/events") return send(res, 200, { events: state.events });
    if (url.pathname === "/admin/calls") return send(res, 200, calls);
    if (url.pathname === "/admin/mode") {
      Object.assign(mode, JSON.parse(body.toString() || "{}"));
      return send(res, 200, mode);
    }
    if (mode.proxyErrors > 0 && url.pathname.startsWith("/pb.BusinessInt/")) {
      mode.proxyErrors -= 1; // what a reverse proxy answers while the business restarts: unsigned
      res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
      return;
    }
    if (!verify(req, body)) return connectError(res, 401, "unauthenticated", "missing, bad or replayed signature");
    if (url.pathname.startsWith("/pb.BusinessInt/")) return serveBusinessInt(url.pathname.slice("/pb.BusinessInt/".length), req, res, body);
    if (url.pathname === "/webhooks/events") return receiveEvents(res, body);
    if (url.pathname === "/webhooks/before-send") return beforeSend(res, body);
    return connectError(res, 404, "not_found", "no such endpoint");
  } catch (err) {
    console.error(err);
    if (!res.headersSent) connectError(res, 500, "internal", "internal error");
  }
});

server.listen(PORT, "127.0.0.1", () => {
  console.log(`business server listening on ${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
