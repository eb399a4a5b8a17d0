/** The Hono app: health, the WebSocket upgrades and gim's services in Connect unary form. */
import { Hono } from "hono";
import { ErrorCode } from "../proto/codes";
import { AppError } from "../proto/errors";
import { errorResponse, serveUnary, type Service } from "./connect-rpc";
import type { AppEnv } from "./env";
import { authenticate } from "./directory";
import { businessExt } from "./routes/business-ext";
import { logicExt } from "./routes/logic-ext";
import { logicInt, serverSecret } from "./routes/logic-int";
import { upgradeRoomSocket } from "./routes/rooms";
import { upgradeWebSocket } from "./routes/websocket";

const SERVICES: Record<string, Service> = {
  "pb.LogicExt": logicExt,
  "pb.BusinessExt": businessExt,
  "pb.LogicInt": logicInt,
};

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.text("ok"));
app.get("/ws", upgradeWebSocket);
app.get("/room", upgradeRoomSocket);
app.use("/pb.LogicInt/*", serverSecret());
app.post("/:service/:method", (c) =>
  serveUnary(c, SERVICES[c.req.param("service")], c.req.param("method"), (ctx, caller) => authenticate(ctx.env, caller.userId, caller.deviceId, caller.token)),
);
app.notFound(async (c) => {
  // A file of the web page, when the Worker runs before the files are matched (npm start).
  if ((c.req.method === "GET" || c.req.method === "HEAD") && c.env.ASSETS) {
    const file = await c.env.ASSETS.fetch(c.req.raw);
    if (file.status !== 404) {
      return file;
    }
  }
  return errorResponse(c, new AppError(ErrorCode.UNIMPLEMENTED, `no route for ${c.req.method} ${c.req.path}`));
});
app.onError((err, c) => errorResponse(c, err));
