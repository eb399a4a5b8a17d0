/** GET /ws: authenticates the credentials (query or headers) and hands the upgrade to the user's inbox. */
import type { Context } from "hono";
import { ErrorCode } from "../../proto/codes";
import { connectErrorResponse } from "../../proto/connect-error";
import { credentialId } from "../credentials";
import { authenticate } from "../directory";
import type { AppEnv } from "../env";
import { userInbox } from "../stubs";
import { withoutCompression } from "./no-compression";

function credential(c: Context<AppEnv>, name: string): string {
  return c.req.query(name) ?? c.req.header(name) ?? c.req.header(name.replace(/_/g, "-")) ?? "";
}

export async function upgradeWebSocket(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return connectErrorResponse(ErrorCode.BAD_REQUEST, "expected a WebSocket upgrade");
  }
  const userId = credentialId(credential(c, "user_id"));
  const deviceId = credentialId(credential(c, "device_id"));
  const token = credential(c, "token");
  if (!userId || !deviceId || !token) {
    return connectErrorResponse(ErrorCode.UNAUTHORIZED, "user_id, device_id and token are required");
  }
  await authenticate(c.env, userId, deviceId, token);
  // The inbox is reachable only through this Worker, so it trusts the device id it is given.
  const headers = new Headers(c.req.raw.headers);
  headers.set("x-gim-device-id", String(deviceId));
  return withoutCompression(await userInbox(c.env, userId).fetch(new Request(c.req.url, { headers })));
}
