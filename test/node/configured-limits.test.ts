// The limits are configuration: a local server started with other values of the variables
// README.md lists pages syncs and refuses frames by them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
// @ts-expect-error -- plain ESM script without type declarations
import { startLocalServer } from "../../scripts/local-server.mjs";
import { connect, ok, signIn, textContent } from "./client";

const dir = mkdtempSync(join(tmpdir(), "gim-limits-"));
let server: { url: string; stop(): Promise<void> };

beforeAll(async () => {
  server = await startLocalServer({ port: 0, stateDir: dir, quiet: true, vars: { SYNC_PAGE_LIMIT: "3", MAX_FRAME_BYTES: "2048" } });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("configured limits", () => {
  it("pages syncs by SYNC_PAGE_LIMIT and refuses frames over MAX_FRAME_BYTES", async () => {
    const [alice, bob] = [await signIn(undefined, server.url), await signIn(undefined, server.url)];
    for (let i = 0; i < 5; i++) {
      const content = Buffer.from(textContent(`m${i}`)).toString("base64");
      await ok("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: content, isPersist: true }, alice, server.url);
    }
    const socket = await connect(bob, server.url);
    socket.send(pb.PackageType.PT_SYNC, 1, pb.SyncInput.encode({ seq: 0 }).finish());
    const page = pb.SyncOutput.decode((await socket.reply(1)).data);
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(page.hasMore).toBe(true);

    const big = pb.SendMessageReq.encode({ receiverType: 1, receiverId: alice.userId, messageType: 1, messageContent: new Uint8Array(2_100), isPersist: true }).finish();
    socket.send(pb.PackageType.PT_SEND_MESSAGE, 2, big);
    expect((await socket.reply(2)).code).toBe(10002);
    socket.send(pb.PackageType.PT_HEARTBEAT, 3);
    expect((await socket.reply(3)).code).toBe(0);
    socket.close();
  });
});
