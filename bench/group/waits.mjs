// Bounded waits of bench/group.mjs: after a phase for its own deliveries (drain, then late
// ones), and before a phase for what earlier phases still owe (settle).
import { fmt, log, now, sleep, waitFor } from "../lib.mjs";
import { counted, expectedOf, receivedOf, repliesPending } from "./state.mjs";

/** Waits for deliveries and replies of `p`; then, while some still come, up to `late` s more. */
export async function drain(st, p, drainS, lateS) {
  const t0 = now();
  await waitFor(() => receivedOf(p) >= expectedOf(p) && !repliesPending(p), drainS * 1000, 20);
  p.drainMs = now() - t0;
  p.lostAfterDrain = expectedOf(p) - receivedOf(p);
  if (p.lostAfterDrain > 0 && lateS > 0) {
    log(`${p.name}: ${p.lostAfterDrain} deliveries missing after ${drainS} s; waiting up to ${lateS} s more while they come`);
    const deadline = now() + lateS * 1000;
    let last = receivedOf(p);
    let lastChange = now();
    while (now() < deadline && receivedOf(p) < expectedOf(p) && now() - lastChange < st.opts.stall * 1000) {
      await sleep(250);
      const r = receivedOf(p);
      if (r !== last) {
        last = r;
        lastChange = now();
      }
    }
  }
}

/** Before a phase: waits (bounded) until every earlier message reached every member device. */
export async function settle(st, label) {
  const { opts, records } = st;
  const owed = () => records.reduce((n, r) => n + (counted(r) ? r.expected - r.count : 0), 0) + records.filter((r) => r.code === -1).length;
  const before = owed();
  st.current = null; // what arrives now counts as late for its phase
  if (before === 0) {
    return;
  }
  const t0 = now();
  log(`before ${label}: ${before} deliveries/replies of earlier phases still owed; waiting up to ${opts.settle} s`);
  let last = before;
  let lastChange = now();
  while (owed() > 0 && now() - t0 < opts.settle * 1000 && now() - lastChange < opts.stall * 1000) {
    await sleep(250);
    if (owed() !== last) {
      last = owed();
      lastChange = now();
    }
  }
  const settled = { label, owedBefore: before, owedAfter: owed(), waitedMs: now() - t0 };
  (st.results.settles ??= []).push(settled);
  log(`before ${label}: waited ${fmt(settled.waitedMs / 1000)} s, ${settled.owedAfter} still owed`);
}
