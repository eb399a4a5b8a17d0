// The sync scenario of bench/sync-and-idle.mjs: one user receives --messages messages while its
// device is offline, then the device connects and pages PT_SYNC from seq 0 until has_more is
// false. Prints its lines and returns its figures.
import { createUsers, DeviceSocket, fmt, httpSend, log, mapLimit, now, sleep, textContent, waitFor } from "../lib.mjs";

export async function syncScenario(server, opts) {
  const n = opts.messages;
  log(`sync: creating the sender and the offline receiver`);
  const [sender, receiver] = await createUsers(server.url, 2, 2, 2);
  // The receiver's second device stays online only to see when the last copy is stored (it
  // never acks, so seq 0 still means "from the start"); it disconnects before the timed sync.
  const observed = { count: 0, maxSeq: 0 };
  const observer = new DeviceSocket(server.url, receiver.devices[1], {
    onPush: (m) => {
      observed.count++;
      observed.maxSeq = Math.max(observed.maxSeq, m.seq);
    },
  });
  await observer.open();
  const senderSock = new DeviceSocket(server.url, sender.devices[0]);
  await senderSock.open();

  log(`sync: sending ${n} messages over ${opts["send-via"]} (${opts["send-concurrency"]} in flight)`);
  /** sender seq -> clientMsgId; the receiver's seq k must carry the sender's k-th message. */
  const bySenderSeq = new Map();
  let errors = 0;
  const t0 = now();
  const tag = Math.random().toString(36).slice(2, 8);
  let progressAt = now();
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    opts["send-concurrency"],
    async (i) => {
      const cid = `${tag}-${i}`;
      const content = textContent(`offline message ${i} `.padEnd(32, "x"));
      let seq;
      if (opts["send-via"] === "http") {
        seq = Number((await httpSend(server.url, sender.devices[0], receiver.userId, content, cid)).seq);
      } else {
        const r = await senderSock.sendMessage(receiver.userId, content, cid, 120_000);
        if (r.out.code !== 0) {
          errors++;
          return;
        }
        seq = r.seq;
      }
      bySenderSeq.set(seq, cid);
      if (now() - progressAt > 10_000) {
        progressAt = now();
        log(`sync: ${bySenderSeq.size} sent`);
      }
    },
  );
  const sendSeconds = (now() - t0) / 1000;
  log(`sync: ${bySenderSeq.size} sent in ${fmt(sendSeconds)} s (${fmt(bySenderSeq.size / sendSeconds)} msg/s), ${errors} errors; waiting for the receiver's inbox`);
  const stored = await waitFor(() => observed.count >= bySenderSeq.size, 600_000, 50);
  const storeSeconds = (now() - t0) / 1000;
  log(`sync: observer saw ${observed.count} pushes (max seq ${observed.maxSeq}) ${stored ? "" : "(timed out) "}${fmt(storeSeconds)} s after the first send`);
  await observer.close();
  await senderSock.close();
  await sleep(1000);

  // The timed part: connect, then page from seq 0 while has_more.
  const device = new DeviceSocket(server.url, receiver.devices[0]);
  const tConnect = now();
  await device.open();
  const tOpen = now();
  const seqs = [];
  const cids = [];
  let pages = 0;
  let cursor = 0;
  let hasMore = true;
  let firstPageMs = NaN;
  while (hasMore && pages <= n + 10) {
    const page = await device.syncPage(cursor, opts.limit, 60_000);
    pages++;
    if (pages === 1) {
      firstPageMs = now() - tConnect;
    }
    for (const m of page.messages) {
      seqs.push(m.seq);
      cids.push(m.clientMsgId);
    }
    hasMore = page.hasMore;
    if (page.messages.length === 0) {
      break;
    }
    cursor = page.messages[page.messages.length - 1].seq;
  }
  const tDone = now();
  await device.close();

  let inOrder = seqs.length === bySenderSeq.size;
  let firstBad = "";
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== i + 1 || cids[i] !== bySenderSeq.get(i + 1)) {
      inOrder = false;
      firstBad = `position ${i}: seq ${seqs[i]} (${cids[i]}), expected seq ${i + 1} (${bySenderSeq.get(i + 1)})`;
      break;
    }
  }
  const r = {
    messages: n,
    sent: bySenderSeq.size,
    sendErrors: errors,
    sendVia: opts["send-via"],
    sendSeconds,
    sendRate: bySenderSeq.size / sendSeconds,
    storedSeconds: storeSeconds,
    connectMs: tOpen - tConnect,
    firstPageMs,
    syncMs: tDone - tOpen,
    totalMs: tDone - tConnect,
    pages,
    received: seqs.length,
    exactlyOneToNInOrder: inOrder && seqs.length === n,
    firstMismatch: firstBad,
  };
  console.log(`--- sync: ${n} offline messages`);
  console.log(`  fill                 ${r.sent} sent over ${r.sendVia} in ${fmt(r.sendSeconds)} s (${fmt(r.sendRate)} msg/s), ${errors} errors; all stored in the receiver's inbox after ${fmt(r.storedSeconds)} s`);
  console.log(`  connect              ${fmt(r.connectMs)} ms (WebSocket open)`);
  console.log(`  sync                 ${r.received} messages in ${r.pages} pages, ${fmt(r.syncMs)} ms after open (first page ${fmt(r.firstPageMs)} ms after connect)`);
  console.log(`  connect -> all       ${fmt(r.totalMs)} ms (${fmt(r.received / (r.totalMs / 1000), 0)} msg/s)`);
  console.log(`  check                ${r.exactlyOneToNInOrder ? `exactly seqs 1..${n} in send order` : `FAILED: ${firstBad || `${r.received} received, ${n} expected`}`}`);
  return r;
}
