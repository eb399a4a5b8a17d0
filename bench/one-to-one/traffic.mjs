// Load generation of bench/one-to-one.mjs: who sends to whom, one message (its record is what
// every check counts against), the open-loop sender, and the pushes the devices take in.
import { now, sleep, textContent } from "../lib.mjs";

/** A push to device `sock.bench`: seq order, ack, then the delivery matched by clientMsgId. */
export function onPush(st, message, recvAt, sock) {
  const { opts, phase } = st;
  const dev = sock.bench;
  const cid = message.clientMsgId;
  dev.pushedSeqs.push(message.seq);
  if (message.seq <= dev.lastPushedSeq) {
    dev.outOfOrder++;
  }
  dev.lastPushedSeq = Math.max(dev.lastPushedSeq, message.seq);
  if (dev.ackEnabled) {
    dev.ackDue = Math.max(dev.ackDue, message.seq);
  }
  const rec = st.messages.get(cid);
  if (!rec) {
    if (phase) {
      phase.unknown++;
    }
    return;
  }
  if (dev.seen.has(cid)) {
    rec.phase.duplicates++;
    return;
  }
  dev.seen.add(cid);
  if (!rec.pending.has(dev.index)) {
    rec.phase.wrongDevice++;
    return;
  }
  rec.pending.delete(dev.index);
  const p = rec.phase;
  if (p !== phase) {
    p.late++;
  }
  const latency = recvAt - rec.sendAt;
  p.deliveries++;
  p.latency.push(latency);
  if (opts.timeline) {
    const second = Math.max(0, Math.floor((rec.sendAt - p.firstSendAt) / 1000));
    (p.timeline[second] ??= []).push(latency);
  }
  (dev.userId === rec.receiverId ? p.latencyReceiver : p.latencyOwn).push(latency);
  p.lastDeliveryAt = Math.max(p.lastDeliveryAt, recvAt);
  if (message.sender.senderId !== rec.senderId || message.receiverId !== rec.receiverId) {
    p.wrongDevice++;
  }
}

/** A random sender device and a random receiver user other than the sender. */
export function randomPair(st) {
  const { devices, userIds } = st;
  const from = devices[Math.floor(Math.random() * devices.length)];
  let receiverId;
  do {
    receiverId = userIds[Math.floor(Math.random() * userIds.length)];
  } while (receiverId === from.userId);
  return [from, receiverId];
}

/** Every ordered pair of users once (random device of the sender), in random order. */
export function allPairs(st) {
  const { devices, devicesOfUser, userIds } = st;
  const pairs = [];
  for (const a of userIds) {
    for (const b of userIds) {
      if (a !== b) {
        const own = devicesOfUser.get(a);
        pairs.push([devices[own[Math.floor(Math.random() * own.length)]], b]);
      }
    }
  }
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  let next = 0;
  return () => (next < pairs.length ? pairs[next++] : null);
}

/** Sends one message from device `from` to user `receiverId`; expected on the receiver's devices and the sender's others. */
function sendOne(st, p, [from, receiverId]) {
  const { devicesOfUser } = st;
  const cid = `${st.runTag}-${++st.msgCounter}`;
  const pending = new Set();
  for (const i of devicesOfUser.get(receiverId)) {
    pending.add(i);
  }
  for (const i of devicesOfUser.get(from.userId)) {
    if (i !== from.index) {
      pending.add(i);
    }
  }
  const text = `bench ${cid} `.padEnd(st.opts.bytes, "x");
  const rec = { cid, phase: p, senderId: from.userId, senderIndex: from.index, receiverId, pending, sendAt: 0, replied: false, code: -1 };
  st.messages.set(cid, rec);
  p.records.push(rec);
  p.expected += pending.size;
  p.sent++;
  p.outstandingReplies++;
  rec.sendAt = now();
  if (!p.firstSendAt) {
    p.firstSendAt = rec.sendAt;
  }
  p.lastSendAt = rec.sendAt;
  from.sock.sendMessage(receiverId, textContent(text), cid, 60_000).then(
    ({ out, recvAt, seq }) => {
      p.outstandingReplies--;
      p.replies++;
      rec.replied = true;
      rec.code = out.code;
      if (out.code !== 0) {
        p.errors++;
        const key = `${out.code} ${out.message}`;
        p.errorSamples.set(key, (p.errorSamples.get(key) ?? 0) + 1);
        p.expected -= rec.pending.size;
        rec.pending.clear();
        return;
      }
      p.replyLatency.push(recvAt - rec.sendAt);
      from.ownSeqs.push(seq);
    },
    (err) => {
      p.outstandingReplies--;
      p.replyFailures++;
      const key = `no reply: ${err.message.replace(/request \d+/, "request")}`;
      p.errorSamples.set(key, (p.errorSamples.get(key) ?? 0) + 1);
    },
  );
}

/**
 * Offers `rate` messages/s for `seconds` (open loop: sends never wait for replies); `pick`
 * chooses sender and receiver, null when it has no more.
 */
export async function offer(st, p, pick) {
  const start = now();
  const end = start + p.seconds * 1000;
  const hardStop = end + 5_000;
  let ticks = 0;
  for (;;) {
    const t = now();
    if (t >= end || t >= hardStop || ticks++ > p.seconds * 1000) {
      break;
    }
    const due = Math.floor(((t - start) / 1000) * p.rate) - p.sent - p.skipped;
    let exhausted = false;
    for (let i = 0; i < due; i++) {
      if (p.outstandingReplies >= st.opts["max-outstanding"]) {
        p.skipped++;
        continue;
      }
      const pair = pick();
      if (!pair) {
        exhausted = true;
        break;
      }
      sendOne(st, p, pair);
    }
    if (exhausted) {
      break;
    }
    await sleep(2);
  }
  p.loadSeconds = (now() - start) / 1000;
}
