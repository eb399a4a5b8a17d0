// Offline phase of bench/group.mjs, second part: the extra member connects and pages PT_SYNC
// from seq 0; time to have every message, checked for missing, repeated and out-of-order ones
// and against an online member's group order.
import { DeviceSocket, fmt, now, pb, sleep } from "../lib.mjs";
import { onClose } from "./traffic.mjs";

const MT_COMMAND = pb.MessageType.MT_COMMAND;

/** Connects `extra`, syncs its inbox, checks it and prints the offline sync section. */
export async function offlineSync(st, p, extra, senders) {
  const { opts } = st;
  // Unanswered sends (no reply in time) may still be stored: they are looked for too.
  const wantOffline = new Set(p.records.filter((r) => r.code === 0 || r.code === -2).map((r) => r.cid));
  const wantAll = new Set(st.records.filter((r) => r.code === 0 || r.code === -2).map((r) => r.cid));
  const c = collector(st, wantOffline);
  const sock = new DeviceSocket(st.baseUrl, extra, { onPush: (m) => c.take(m, "push"), onClose: (s, code, reason) => onClose(st, s, code, reason) });
  sock.bench = { offline: true };
  const c0 = now();
  await sock.open(30_000);
  const connectMs = now() - c0;
  const { pages, sizes, s0, syncMs } = await pageFromZero(sock, c, opts.limit);
  // Give pushes in flight a moment, then one more sync page from the last seq.
  if (c.haveOffline < wantOffline.size) {
    await sleep(5000);
    const lastSeq = Math.max(0, ...c.seqs);
    const page = await sock.syncPage(lastSeq, opts.limit, 60_000);
    page.messages.forEach((m) => c.take(m, "sync"));
  }
  const { sorted, holes, seqRepeats, outOfOrder } = seqFigures(c.seqs);
  const order = groupOrder(st, senders, c.seen, wantOffline);
  const missingOffline = [...wantOffline].filter((cid) => !c.seen.has(cid)).length;
  const missingAll = [...wantAll].filter((cid) => !c.seen.has(cid)).length;
  const sync = {
    offlineMessages: wantOffline.size,
    inboxMessages: c.seqs.length,
    connectMs,
    syncMs,
    timeToAllMs: c.allAt ? c.allAt - c0 : NaN,
    timeToAllFromFirstSyncMs: c.allAt ? c.allAt - s0 : NaN,
    pages,
    pageSizes: sizes,
    missingOffline,
    missingAll,
    repeats: c.repeats,
    seqRepeats,
    holes,
    outOfOrder,
    firstSeq: sorted[0],
    lastSeq: sorted.at(-1),
    notices: c.notices,
    pushedAfterConnect: c.pushed,
    unexpected: c.unexpected,
    orderMismatch: order.mismatch,
    orderCompared: order.compared,
  };
  st.results.sync = sync;
  console.log(`\n--- offline sync: the extra member connects and pages PT_SYNC {seq, limit ${opts.limit}} from seq 0`);
  console.log(`  connect              ${fmt(connectMs)} ms`);
  console.log(`  time to all ${wantOffline.size}     ${fmt(sync.timeToAllMs)} ms from connect (${fmt(sync.timeToAllFromFirstSyncMs)} ms from the first PT_SYNC); whole sync ${fmt(syncMs)} ms`);
  console.log(`  pages                ${pages} (sizes ${sizes.slice(0, 8).join(",")}${sizes.length > 8 ? ",..." : ""}); inbox held ${c.seqs.length} messages, seqs ${sorted[0]}..${sorted.at(-1)} incl. ${c.notices} notice(s)`);
  console.log(`  missing              ${missingOffline} of the ${wantOffline.size} offline-phase messages, ${missingAll} of all ${wantAll.size} group messages of the run`);
  console.log(`  repeats ${c.repeats}  seq holes ${holes}  seq repeats ${seqRepeats}  out of order ${outOfOrder}  unexpected ${c.unexpected}  pushed after connect ${c.pushed}`);
  console.log(`  group order          ${order.mismatch} differences from user ${order.ref.userId}'s push order over ${sync.orderCompared} messages`);
  await sock.close();
}

/**
 * What the extra member received, by push or sync page: `take(m, via)` records each message's
 * seq and clientMsgId (seen: cid -> seq) and notes when the last offline-phase one arrived.
 */
function collector(st, wantOffline) {
  const c = { seen: new Map(), seqs: [], repeats: 0, pushed: 0, notices: 0, unexpected: 0, haveOffline: 0, allAt: 0 };
  c.take = (m, via) => {
    if (via === "push") {
      c.pushed++;
    }
    c.seqs.push(m.seq);
    if (m.messageType === MT_COMMAND) {
      c.notices++;
      return;
    }
    if (c.seen.has(m.clientMsgId)) {
      c.repeats++;
      return;
    }
    c.seen.set(m.clientMsgId, m.seq);
    if (!st.byCid.has(m.clientMsgId)) {
      c.unexpected++;
    }
    if (wantOffline.has(m.clientMsgId) && ++c.haveOffline === wantOffline.size) {
      c.allAt = now();
    }
  };
  return c;
}

/** Pages PT_SYNC {seq, limit} from seq 0 while has_more (bounded: 10,000 pages, 300 s). */
async function pageFromZero(sock, c, limit) {
  let seq = 0;
  let pages = 0;
  const sizes = [];
  const s0 = now();
  for (; pages < 10_000 && now() - s0 < 300_000; ) {
    const page = await sock.syncPage(seq, limit, 60_000);
    pages++;
    sizes.push(page.messages.length);
    for (const m of page.messages) {
      c.take(m, "sync");
    }
    if (!page.hasMore || page.messages.length === 0) {
      break;
    }
    seq = page.messages.at(-1).seq;
  }
  return { pages, sizes, s0, syncMs: now() - s0 };
}

/** Holes and repeats among the seqs received (sorted), and how many came out of order. */
function seqFigures(seqs) {
  const sorted = [...seqs].sort((a, b) => a - b);
  let holes = 0;
  let seqRepeats = 0;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      seqRepeats++;
    } else if (sorted[i] !== sorted[i - 1] + 1) {
      holes += sorted[i] - sorted[i - 1] - 1;
    }
  }
  let outOfOrder = 0;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] <= seqs[i - 1]) {
      outOfOrder++;
    }
  }
  return { sorted, holes, seqRepeats, outOfOrder };
}

/** Group order: the extra member's order of the burst must equal an online member's push order. */
function groupOrder(st, senders, seen, wantOffline) {
  const senderSetIdx = new Set(senders);
  const ref = st.members.find((d) => !senderSetIdx.has(d.index));
  const refOrder = ref.pushOrder.filter((cid) => wantOffline.has(cid));
  const extraOrder = [...seen.entries()].filter(([cid]) => wantOffline.has(cid)).sort((a, b) => a[1] - b[1]).map(([cid]) => cid);
  let mismatch = 0;
  for (let i = 0; i < Math.min(refOrder.length, extraOrder.length); i++) {
    if (refOrder[i] !== extraOrder[i]) {
      mismatch++;
    }
  }
  return { ref, mismatch, compared: Math.min(refOrder.length, extraOrder.length) };
}
