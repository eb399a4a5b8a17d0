import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { call, connect, ok, sendOverSocket, signIn, text, textBase64, textContent } from "./helpers";

describe("smoke", () => {
  it("signs in, connects, sends 1:1 and receives", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const bobSocket = await connect(bob);
    const res = await ok("pb.LogicExt/SendMessage", { receiverType: "RT_USER", receiverId: bob.userId, messageType: "MT_TEXT", messageContent: textBase64("hi"), isPersist: true }, alice);
    expect(res.seq).toBe("1");
    const [pushed] = await bobSocket.pushes(1);
    expect(text(pushed!)).toBe("hi");
    expect(pushed!.seq).toBe(1);
    const aliceSocket = await connect(alice);
    const reply = await sendOverSocket(aliceSocket, { receiverType: pb.ReceiverType.RT_USER, receiverId: bob.userId, messageType: pb.MessageType.MT_TEXT, messageContent: textContent("two") });
    expect(reply.code).toBe(0);
    expect(pb.SendMessageResp.decode(reply.data).seq).toBe(2);
    const [second] = await bobSocket.pushes(1);
    expect(second!.seq).toBe(2);
    expect((await call("pb.LogicExt/Nope", {}, alice)).status).toBe(501);
  });
});
