// Latency phase of bench/group.mjs: group messages one at a time from varying senders; per
// message the time until the last other member device has it (fan-out time).
import { fmt, log, sleep } from "../lib.mjs";
import { finishPhase, phaseTools } from "./measure.mjs";
import { reportPhase } from "./report.mjs";
import { newPhase } from "./state.mjs";
import { sendGroup } from "./traffic.mjs";
import { drain } from "./waits.mjs";

/** Sends --messages group messages, each after the previous one completed or timed out. */
export async function latencyPhase(st) {
  const { opts, M, members } = st;
  log(`latency: ${opts.messages} group messages one at a time, pause ${opts.pause} ms`);
  const { meter, loopDelay } = phaseTools(st);
  const p = newPhase(st, "latency");
  const stride = Math.max(1, Math.floor(M / opts.messages));
  for (let i = 0; i < opts.messages; i++) {
    const senderIdx = (i * stride + 1) % M;
    const rec = sendGroup(st, p, senderIdx);
    const outcome = await doneOrTimeout(rec, opts.timeout * 1000);
    if (outcome === "timeout") {
      p.timeouts = (p.timeouts ?? 0) + 1;
    }
    await rec.reply;
    log(
      `  #${i + 1} from user ${members[senderIdx].userId}: ${outcome === "timeout" ? `TIMEOUT ${rec.count}/${rec.expected}` : rec.expected === 0 ? `error ${rec.code}` : `all ${rec.count} in ${fmt(rec.doneAt - rec.sentAt)} ms`}, reply ${fmt(rec.replyAt - rec.sentAt)} ms`,
    );
    await sleep(opts.pause);
  }
  await drain(st, p, 2, opts.late);
  await finishPhase(st, p, meter, loopDelay);
  console.log(`\n--- latency: ${opts.messages} group messages one at a time to ${M} online members (${st.expected} deliveries each)`);
  console.log(`  timeouts             ${p.timeouts ?? 0} messages not on every device within ${opts.timeout} s (the next one was sent anyway; they still count when they complete)`);
  reportPhase(st, p);
  return p;
}

/** Resolves "timeout" after `ms` unless message `rec` is on every device (or failed) first. */
async function doneOrTimeout(rec, ms) {
  const done = new Promise((resolve) => {
    rec.onDone = resolve;
  });
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  const outcome = await Promise.race([done, timedOut]);
  clearTimeout(timer);
  return outcome;
}
