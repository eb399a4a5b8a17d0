// Sockets are served without permessage-deflate (workers/routes/no-compression.ts): the `ws`
// client offers it by default, as browsers do, and the server must decline it.
import { expect, it } from "vitest";
import WebSocket from "ws";
import { pb } from "../../proto/gen/pb.js";
import { baseUrl, connect, NodeSocket, signIn } from "./client";

it("declines permessage-deflate on device sockets and room sockets, which still work", async () => {
  const alice = await signIn();
  const device = await connect(alice); // offers permessage-deflate
  expect(device.ws.extensions).toBe("");
  device.send(pb.PackageType.PT_HEARTBEAT, 7);
  expect((await device.reply(7)).code).toBe(0);
  device.close();

  const roomId = 700_000 + Math.floor(Math.random() * 100_000);
  const url = `${baseUrl().replace(/^http/, "ws")}/room?room_id=${roomId}&user_id=${alice.userId}&device_id=${alice.deviceId}&token=${encodeURIComponent(alice.token)}`;
  const ws = new WebSocket(url, { perMessageDeflate: true });
  const room = new NodeSocket(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  expect(ws.extensions).toBe("");
  room.send(pb.PackageType.PT_HEARTBEAT, 8);
  expect((await room.reply(8)).code).toBe(0);
  room.close();
});
