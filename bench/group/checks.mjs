// Per-device seq check of bench/group.mjs: every online device's pushes must follow its inbox
// seqs without a hole, except over its own sends.

/**
 * Checks the seqs pushed to every online device since the last check: consecutive pushes must
 * increase by exactly 1, except over the seqs of the device's own sends (answered, not pushed).
 * Sets `p.seq` = { gaps, missing, backwards, devicesWithGaps, samples, explained }.
 */
export function seqCheck(st, p) {
  let gaps = 0;
  let missing = 0;
  let backwards = 0;
  let devicesWithGaps = 0;
  let explained = 0;
  const samples = [];
  for (const dev of st.members) {
    let prev = dev.checkedPrev;
    let devGaps = 0;
    let devMissing = 0;
    const unknownOwn = dev.unanswered + dev.answeredErrors - dev.usedUnknown;
    for (let k = dev.checkedIdx; k < dev.pushes.length; k++) {
      const s = dev.pushes[k];
      if (s <= prev) {
        backwards++;
        continue;
      }
      if (s !== prev + 1) {
        let miss = 0;
        for (let x = prev + 1; x < s && x - prev < 1_000_000; x++) {
          if (!dev.own.has(x)) {
            miss++;
          }
        }
        if (miss > 0) {
          if (devMissing + miss <= unknownOwn) {
            // Within the count of this device's own sends whose seq it never learned.
            explained += miss;
            devMissing += miss;
          } else {
            gaps++;
            devGaps++;
            missing += miss;
            if (samples.length < 5) {
              samples.push(`user ${dev.userId}: ${prev} -> ${s}`);
            }
          }
        }
      }
      prev = s;
    }
    dev.checkedIdx = dev.pushes.length;
    dev.checkedPrev = prev;
    dev.usedUnknown += devMissing;
    if (devGaps > 0) {
      devicesWithGaps++;
    }
  }
  p.seq = { gaps, missing, backwards, devicesWithGaps, samples, explained };
}
