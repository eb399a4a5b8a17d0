// Group messages of bench/group.mjs on the wire: sending one (its record is what every check
// counts against) and taking in the pushes and closes of the member sockets.
import { log, now, pb, PT, textContent } from "../lib.mjs";

const MT_COMMAND = pb.MessageType.MT_COMMAND;

/**
 * A push to member device `sock.bench`: the group-creation notice (MT_COMMAND) or a group
 * message, matched to its record by clientMsgId (latency, duplicates, late arrivals).
 */
export function onPush(st, message, recvAt, sock) {
  const dev = sock.bench;
  dev.pushes.push(message.seq);
  if (message.messageType === MT_COMMAND) {
    if (!dev.noticeAt) {
      dev.noticeAt = recvAt;
      st.noticeCount++;
    }
    return;
  }
  const rec = st.byCid.get(message.clientMsgId);
  if (!rec) {
    st.unknownPushes++;
    return;
  }
  const p = rec.phase;
  if (rec.recv[dev.index]) {
    p.duplicates++;
    return;
  }
  rec.recv[dev.index] = 1;
  if (dev.index === rec.senderIdx) {
    p.ownPush++;
    return;
  }
  rec.count++;
  if (p !== st.current) {
    p.late++;
  }
  p.deliveries++;
  p.latency.push(recvAt - rec.sentAt);
  const b = Math.floor((recvAt - p.startAt) / 100);
  p.buckets[b] = (p.buckets[b] ?? 0) + 1;
  if (recvAt > p.lastDeliveryAt) {
    p.lastDeliveryAt = recvAt;
  }
  if (rec.count === rec.expected) {
    rec.doneAt = recvAt;
    rec.onDone?.();
  }
}

/** A member socket closed: counted unless the run is closing or it is the offline member's. */
export function onClose(st, sock, code, reason) {
  if (!st.closing && !sock.bench?.offline) {
    st.unexpectedCloses++;
    log(`socket of user ${sock.device.userId} closed unexpectedly: ${code} ${reason}`);
  }
}

/** Sends one group message from member `senderIdx`; the record is created and registered. */
export function sendGroup(st, p, senderIdx, replyTimeoutMs = 60_000) {
  const { opts, M } = st;
  const sender = st.members[senderIdx];
  const cid = `g-${st.runTag}-${++st.msgCounter}`;
  const rec = { cid, n: st.msgCounter, phase: p, senderIdx, sentAt: 0, replyAt: 0, seq: 0, code: -1, expected: st.expected, count: 0, doneAt: 0, onDone: null, recv: new Uint8Array(M) };
  st.byCid.set(cid, rec);
  st.records.push(rec);
  p.records.push(rec);
  const data = pb.SendMessageReq.encode({
    receiverType: pb.ReceiverType.RT_GROUP,
    receiverId: st.groupId,
    messageType: pb.MessageType.MT_TEXT,
    messageContent: textContent(`${cid} ${"x".repeat(Math.max(0, opts.bytes - cid.length - 1))}`),
    isPersist: true,
    clientMsgId: cid,
  }).finish();
  rec.sentAt = now();
  if (!p.firstSendAt) {
    p.firstSendAt = rec.sentAt;
  }
  p.lastSendAt = rec.sentAt;
  p.sent++;
  rec.reply = sender.sock.request(PT.PT_SEND_MESSAGE, data, replyTimeoutMs).then(
    ({ out, recvAt }) => {
      rec.replyAt = recvAt;
      rec.code = out.code;
      if (out.code === 0) {
        rec.seq = pb.SendMessageResp.decode(out.data).seq;
        sender.own.add(rec.seq);
        p.replyLatency.push(recvAt - rec.sentAt);
      } else {
        p.errors++;
        const key = `${out.code} ${out.message}`;
        p.errorSamples.set(key, (p.errorSamples.get(key) ?? 0) + 1);
        rec.expected = 0;
        sender.answeredErrors++;
        rec.onDone?.();
      }
    },
    (err) => {
      rec.code = -2;
      p.noReply++;
      sender.unanswered++;
      p.errorSamples.set(String(err.message).slice(0, 120), (p.errorSamples.get(String(err.message).slice(0, 120)) ?? 0) + 1);
      rec.onDone?.();
    },
  );
  return rec;
}
