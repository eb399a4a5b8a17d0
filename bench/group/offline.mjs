// Offline phase of bench/group.mjs, first part: a burst of group messages while the extra
// member has no socket, measured at the online members; then its sync (offline-sync.mjs).
import { fmt, log, now, sleep } from "../lib.mjs";
import { finishPhase, phaseTools } from "./measure.mjs";
import { offlineSync } from "./offline-sync.mjs";
import { reportPhase } from "./report.mjs";
import { expectedOf, newPhase, receivedOf, repliesPending } from "./state.mjs";
import { senderSet } from "./throughput.mjs";
import { sendGroup } from "./traffic.mjs";

/** Sends --offline-messages group messages (--offline-window in flight), then `extra` syncs. */
export async function offlinePhase(st, extra) {
  const { opts } = st;
  const N = opts["offline-messages"];
  log(`offline: ${N} group messages while user ${extra.userId} has no socket (${opts["offline-window"]} sends in flight)`);
  const { meter, loopDelay } = phaseTools(st);
  const p = newPhase(st, "offline burst");
  const senders = senderSet(st);
  const t0 = now();
  const clock = { nextLog: t0 + 5000 };
  await sendBurst(st, p, { N, senders, t0, clock });
  p.sendDoneMs = now() - t0;
  log(`  offline burst: all ${p.sent} sent in ${fmt(p.sendDoneMs / 1000)} s (${p.errors} errors, ${p.noReply} no reply); waiting for the fan-out to the online members`);
  await waitFanout(st, p, t0, clock);
  p.drainMs = now() - t0 - p.sendDoneMs;
  p.lostAfterDrain = expectedOf(p) - receivedOf(p);
  await finishPhase(st, p, meter, loopDelay);
  console.log(`\n--- offline burst: ${N} group messages (${opts["offline-window"]} in flight) while one member is offline; online members' view`);
  console.log(`  sending took         ${fmt(p.sendDoneMs / 1000)} s; last delivery ${fmt((p.lastDeliveryAt - p.firstSendAt) / 1000)} s after the first send${p.lost ? ` (then none for ${fmt((now() - p.lastDeliveryAt) / 1000)} s)` : ""}`);
  reportPhase(st, p);

  // ---- the offline member connects and syncs
  await sleep(1000);
  await offlineSync(st, p, extra, senders);
}

/** --offline-window senders in parallel, each waiting for its reply before the next send. */
async function sendBurst(st, p, { N, senders, t0, clock }) {
  const { opts } = st;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts["offline-window"], N) }, async () => {
      while (next < N && now() - t0 < opts["offline-drain"] * 1000) {
        const i = next++;
        const rec = sendGroup(st, p, senders[i % senders.length]);
        await rec.reply;
        if (now() >= clock.nextLog) {
          log(`  offline burst: ${p.sent} sent, ${p.deliveries} delivered to online members`);
          clock.nextLog = now() + 5000;
        }
      }
    }),
  );
}

/** Waits (--offline-drain from the first send, --stall without progress) for the fan-out. */
async function waitFanout(st, p, t0, clock) {
  const { opts } = st;
  const deadline = t0 + opts["offline-drain"] * 1000;
  let lastCount = -1;
  let lastChange = now();
  while (now() < deadline && (receivedOf(p) < expectedOf(p) || repliesPending(p)) && now() - lastChange < opts.stall * 1000) {
    await sleep(1000);
    const r = receivedOf(p);
    if (r !== lastCount) {
      lastCount = r;
      lastChange = now();
    }
    if (now() >= clock.nextLog) {
      log(`  offline burst: ${r}/${expectedOf(p)} delivered to online members`);
      clock.nextLog = now() + 5000;
    }
  }
}
