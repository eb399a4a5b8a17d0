// The single-machine deployment itself: state survives a restart, code sign-in is refused
// when DEV_SIGNIN_CODE is not configured (as on a real deployment), and a busy port is named.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
// @ts-expect-error -- plain ESM script without type declarations
import { startLocalServer } from "../../scripts/local-server.mjs";
import { call, connect, ok, signIn, textContent } from "./client";

const dirs: string[] = [];
function freshStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gim-local-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("local server", () => {
  it("keeps users, tokens and messages across a restart", async () => {
    const stateDir = freshStateDir();
    const first = await startLocalServer({ port: 0, stateDir, quiet: true });
    const alice = await signIn(undefined, first.url);
    const bob = await signIn(undefined, first.url);
    const sent = await ok(
      "pb.LogicExt/SendMessage",
      { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: Buffer.from(textContent("kept")).toString("base64"), isPersist: true },
      alice,
      first.url,
    );
    expect(sent.seq).toBe("1");
    await first.stop();

    const second = await startLocalServer({ port: 0, stateDir, quiet: true });
    try {
      expect(second.migrations).toEqual([]);
      const socket = await connect(bob, second.url);
      socket.send(pb.PackageType.PT_SYNC, 1, pb.SyncInput.encode({ seq: 0 }).finish());
      const page = pb.SyncOutput.decode((await socket.reply(1)).data);
      expect(page.messages.map((m) => [m.seq, pb.Text.decode(m.messageContent ?? new Uint8Array()).text])).toEqual([[1, "kept"]]);
      socket.close();
    } finally {
      await second.stop();
    }
  });

  it("refuses code sign-in without DEV_SIGNIN_CODE", async () => {
    const server = await startLocalServer({ port: 0, stateDir: freshStateDir(), quiet: true, vars: { DEV_SIGNIN_CODE: "" } });
    try {
      const device = await ok("pb.LogicExt/RegisterDevice", { type: 1, brand: "b", model: "m", systemVersion: "1", sdkVersion: "1" }, undefined, server.url);
      const res = await call("pb.BusinessExt/SignIn", { phoneNumber: "5550001", code: "0000", deviceId: device.deviceId }, undefined, server.url);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: "failed_precondition", gimCode: 10018 });
    } finally {
      await server.stop();
    }
  });

  it("names the address when the port is already taken", async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const { port } = squatter.address() as AddressInfo;
    try {
      await expect(startLocalServer({ port, stateDir: freshStateDir(), quiet: true })).rejects.toThrow(`127.0.0.1:${port} is already in use`);
    } finally {
      squatter.close();
    }
  });
});
