// End-of-run checks of bench/one-to-one.mjs over all phases: the seqs every device saw must be
// 1..n per user; gaps are fetched with PT_SYNC and classified; each device also syncs after its
// highest seq to find copies stored but never pushed.
import { log, mapLimit, sleep } from "../lib.mjs";

/** Seqs each device saw (pushes + its own send replies) must be 1..max with no gap or repeat. */
function seqCheck(st) {
  let gaps = 0;
  let repeats = 0;
  let outOfOrder = 0;
  const samples = [];
  for (const dev of st.devices) {
    dev.gapSeqs = [];
    const seqs = Int32Array.from([...dev.pushedSeqs, ...dev.ownSeqs]).sort();
    let expect = 1;
    for (const s of seqs) {
      if (s < expect) {
        repeats++;
      } else {
        if (s > expect) {
          gaps += s - expect;
          for (let m = expect; m < s && dev.gapSeqs.length < 1000; m++) {
            dev.gapSeqs.push(m);
          }
          if (samples.length < 5) {
            samples.push(`device ${dev.deviceId} (user ${dev.userId}): missing seq ${expect}${s - 1 > expect ? `..${s - 1}` : ""}`);
          }
        }
        expect = s + 1;
      }
    }
    outOfOrder += dev.outOfOrder;
  }
  return { gaps, repeats, outOfOrder, samples };
}

/** Anything stored but never pushed? Each device syncs after the highest seq it knows. */
async function storedNotPushedCount(st) {
  let storedNotPushed = 0;
  await mapLimit(st.devices, 16, async (dev) => {
    let known = 0;
    for (const s of dev.pushedSeqs) known = Math.max(known, s);
    for (const s of dev.ownSeqs) known = Math.max(known, s);
    if (known > 0 && !dev.sock.closed) {
      try {
        const page = await dev.sock.syncPage(known, 500, 30_000);
        // A copy stored meanwhile is pushed too: give pushes 2 s, then count what never came.
        await sleep(2_000);
        storedNotPushed += page.messages.filter((m) => m.sender.deviceId !== dev.deviceId && !dev.seen.has(m.clientMsgId)).length;
      } catch (err) {
        log(`verification sync of device ${dev.deviceId} failed: ${err.message}`);
      }
    }
  });
  return storedNotPushed;
}

/**
 * A gap is either this device's own send whose reply never came (its seq is then unknown
 * here; own sends are not pushed back to the sending device) or a copy never pushed to it.
 * Fetch the missing seqs (at most 200 syncs) and tell them apart.
 */
async function classifyGaps(st, seq) {
  seq.gapsOwnUnanswered = 0;
  seq.gapsNeverPushed = 0;
  seq.gapsUnchecked = 0;
  let syncBudget = 200;
  for (const dev of st.devices) {
    for (const missing of dev.gapSeqs) {
      if (syncBudget <= 0 || dev.sock.closed) {
        continue;
      }
      syncBudget--;
      try {
        const page = await dev.sock.syncPage(missing - 1, 1, 30_000);
        const m = page.messages[0];
        if (!m || m.seq !== missing) {
          // seq 0 asks "after the highest ack", so seq 1 cannot be fetched once a device acked
          if (missing > 1) {
            seq.gapsHoles = (seq.gapsHoles ?? 0) + 1;
            if (seq.samples.length < 10) {
              seq.samples.push(`device ${dev.deviceId} (user ${dev.userId}): seq ${missing} is not in the inbox (sync after ${missing - 1} returned ${m ? `seq ${m.seq}` : "nothing"})`);
            }
          }
        } else if (m.sender.deviceId === dev.deviceId || dev.seen.has(m.clientMsgId)) {
          seq.gapsOwnUnanswered++; // own send without reply, or pushed after all (late)
        } else {
          seq.gapsNeverPushed++;
          if (seq.samples.length < 10) {
            seq.samples.push(`device ${dev.deviceId} (user ${dev.userId}): seq ${missing} stored (${m.clientMsgId}) but never pushed to it`);
          }
        }
      } catch {
        // counted as not checked
      }
    }
  }
  seq.gapsHoles ??= 0;
  seq.gapsUnchecked = seq.gaps - seq.gapsOwnUnanswered - seq.gapsNeverPushed - seq.gapsHoles;
}

/** Runs the checks and prints the seq check line; resolves { ...seq, storedNotPushed }. */
export async function verifySeqs(st) {
  const storedNotPushed = await storedNotPushedCount(st);
  const seq = seqCheck(st);
  await classifyGaps(st, seq);
  console.log(`\nseq check (all phases, ${st.devices.length} devices): gaps ${seq.gaps} (${seq.gapsOwnUnanswered} own sends whose reply never came or pushed late, ${seq.gapsNeverPushed} stored but never pushed, ${seq.gapsHoles} not in the inbox, ${seq.gapsUnchecked} not checked), repeated seqs ${seq.repeats}, pushes out of order ${seq.outOfOrder}, stored after the last seq seen but never pushed ${storedNotPushed}, unexpected socket closes ${st.unexpectedCloses}`);
  for (const s of seq.samples) {
    console.log(`  ${s}`);
  }
  return { seq, storedNotPushed };
}
