import { expect, it } from "vitest";
import { pb } from "../../proto/gen/pb.js";
import { connect, signIn, textContent } from "./client";

it("assigns seqs in the order one socket sent its frames, over a real network socket", async () => {
  const alice = await signIn();
  const bob = await signIn();
  const socket = await connect(alice);
  const ids = Array.from({ length: 200 }, (_, i) => i + 1);
  for (const id of ids) {
    const req = pb.SendMessageReq.encode({ receiverType: 1, receiverId: bob.userId, messageType: 1, messageContent: textContent(`n${id}`), isPersist: true });
    socket.send(pb.PackageType.PT_SEND_MESSAGE, id, req.finish());
  }
  const seqs: number[] = [];
  for (const id of ids) {
    const reply = await socket.reply(id);
    expect(reply.code).toBe(0);
    seqs.push(pb.SendMessageResp.decode(reply.data).seq);
  }
  expect(seqs).toEqual(ids);
  socket.close();
});
