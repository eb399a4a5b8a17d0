// Sending side of a room phase of bench/room.mjs: the phase's counters and arrays, one room
// message (PT_PUSH_ROOM on the sender's socket or PushRoom over HTTP), and the open-loop pacing.
import { call, now, pb, PT, sleep } from "../lib.mjs";
import { http } from "./state.mjs";

/** Starts phase `name` (it becomes st.current): `rate` msg/s for `seconds`, at most `cap` messages. */
export function newPhase(st, name, rate, seconds) {
  const { N } = st;
  const cap = Math.max(1, Math.round(rate * seconds));
  const p = {
    id: st.phases.length,
    name,
    rate,
    seconds,
    cap,
    startAt: now(),
    firstSendAt: 0,
    lastSendAt: 0,
    lastDeliveryAt: 0,
    sent: 0,
    replies: 0,
    errors: 0,
    errorSamples: new Map(),
    noReply: 0,
    failed: new Uint8Array(cap),
    sentAt: new Float64Array(cap),
    lastRecv: new Float64Array(cap),
    count: new Uint32Array(cap),
    seqOf: new Float64Array(cap),
    recv: new Uint8Array(N * cap),
    latency: new Float32Array(N * cap),
    latencyCount: 0,
    replyLatency: [],
    deliveries: 0,
    duplicates: 0,
    orderViolations: 0,
    seqMismatch: 0,
    late: 0,
    buckets: [],
  };
  st.phases.push(p);
  st.current = p;
  return p;
}

/** The text of message `k` of phase `phaseId`: run tag, phase, index, send time, padding. */
function messageText(st, phaseId, k, sentAt) {
  const head = `${st.runTag}:${phaseId}:${k}:${sentAt.toFixed(3)}:`;
  return head.padEnd(Math.max(st.opts.bytes, head.length), "x");
}

/** Sends message `k` of phase `p` without waiting for its reply (errors are counted on `p`). */
function sendOne(st, p, k) {
  const { opts, roomId, sender } = st;
  const sentAt = now();
  const content = pb.Text.encode({ text: messageText(st, p.id, k, sentAt) }).finish();
  p.sentAt[k] = sentAt;
  p.sent++;
  if (!p.firstSendAt) {
    p.firstSendAt = sentAt;
  }
  p.lastSendAt = sentAt;
  const fail = (why) => {
    p.failed[k] = 1;
    p.errors++;
    p.errorSamples.set(why, (p.errorSamples.get(why) ?? 0) + 1);
  };
  let reply;
  if (opts["send-via"] === "socket") {
    const data = pb.PushRoomReq.encode({ roomId, messageType: pb.MessageType.MT_TEXT, messageContent: content, isPersist: true }).finish();
    reply = sender.sock.request(PT.PT_PUSH_ROOM, data, 60_000).then(({ out, recvAt }) => {
      p.replies++;
      p.replyLatency.push(recvAt - sentAt);
      if (out.code !== 0) {
        fail(`code ${out.code} ${out.message}`);
      }
    });
  } else {
    reply = call(
      st.baseUrl,
      "/pb.LogicExt/PushRoom",
      { roomId: String(roomId), messageType: "MT_TEXT", messageContent: Buffer.from(content).toString("base64"), isPersist: true },
      http(sender.device),
      60_000,
    ).then(() => {
      p.replies++;
      p.replyLatency.push(now() - sentAt);
    });
  }
  reply.catch((err) => {
    p.noReply++;
    p.failed[k] = 1;
    p.errorSamples.set(String(err.message).slice(0, 120), (p.errorSamples.get(String(err.message).slice(0, 120)) ?? 0) + 1);
  });
}

/** Open loop: message k leaves at k / rate s, whatever the replies do. */
export async function sendAtRate(st, p) {
  const t0 = now();
  const endAt = t0 + p.seconds * 1000 + 2_000;
  while (p.sent < p.cap && now() < endAt) {
    const due = Math.min(p.cap, Math.floor(((now() - t0) / 1000) * p.rate) + 1);
    while (p.sent < due) {
      sendOne(st, p, p.sent);
    }
    const nextAt = t0 + (p.sent / p.rate) * 1000;
    await sleep(Math.max(1, Math.min(20, nextAt - now())));
  }
}

/** Deliveries owed for the messages of `p` sent without failure (one per room socket). */
export function expectedDeliveries(st, p) {
  let ok = 0;
  for (let k = 0; k < p.sent; k++) {
    ok += p.failed[k] ? 0 : 1;
  }
  return ok * st.N;
}
