// Errors the runtime raises for a Durable Object (overloaded, reset, briefly unreachable) are
// answered 503 `unavailable` so clients back off and retry; anything else stays 500 `internal`.
// The errors carry the flags the runtime sets (seen in the local server's log when an inbox could
// not open its database: `durableObjectReset: true`, `remote: true`).
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { errorResponse } from "../../workers/connect-rpc";
import type { AppEnv } from "../../workers/env";

function failingWith(flags: Record<string, boolean>) {
  const app = new Hono<AppEnv>();
  app.get("/ws", () => {
    throw Object.assign(new Error("out of memory: SQLITE_NOMEM"), flags);
  });
  app.onError((err, c) => errorResponse(c, err));
  return app;
}

describe("errors of the runtime", () => {
  it("answers a reset object with 503 unavailable and a retry hint", async () => {
    const res = await failingWith({ remote: true, durableObjectReset: true }).request("/ws");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: "unavailable", message: "the user's object is restarting or out of resources; retry with backoff", gimCode: 14 });
  });

  it("answers an overloaded object with 503 and asks for backoff", async () => {
    const res = await failingWith({ overloaded: true, retryable: false }).request("/ws");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: "unavailable", message: "the server is overloaded; retry later with backoff" });
  });

  it("keeps other errors internal, without their message", async () => {
    const res = await failingWith({ remote: true }).request("/ws");
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ code: "internal", message: "internal error", gimCode: 13 });
  });
});
