import { describe, expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { encodeMessage, withSeq } from "../../durable-objects/user-inbox/message-bytes";

describe("message bytes", () => {
  it("encodes a body into a buffer of its own, so a call to another object carries only the message", () => {
    const body = encodeMessage({ receiverType: pb.ReceiverType.RT_USER, receiverId: 2, messageType: pb.MessageType.MT_TEXT, messageContent: pb.Text.encode({ text: "hi" }).finish() });
    // protobufjs alone hands out a view of a shared 8 KiB slab for a message this small.
    expect(pb.Text.encode({ text: "hi" }).finish().buffer.byteLength).toBe(8192);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer.byteLength).toBe(body.byteLength);
    expect(pb.Message.decode(body).receiverId).toBe(2);
  });

  it("appends a seq that decodes as the message's seq", () => {
    const body = encodeMessage({ receiverType: pb.ReceiverType.RT_USER, receiverId: 2, messageType: pb.MessageType.MT_TEXT });
    expect(Number(pb.Message.decode(withSeq(body, 70_000)).seq)).toBe(70_000);
  });
});
