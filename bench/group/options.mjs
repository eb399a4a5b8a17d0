// Command line of bench/group.mjs: the usage text, the options with their defaults, their
// checks, and the constants derived from them.
import { parseArgs } from "../lib.mjs";

export const USAGE = `usage: node bench/group.mjs [options]
  --members M          online members, one device each (default 1000); the group has M + 1 members
                       (the extra one stays offline for the sync phase)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir)
  --concurrency N      RegisterDevice/SignIn calls in flight (default 16)
  --open-concurrency N WebSocket upgrades in flight (default 32)
  --bytes N            text length of each message (default 32)
  latency phase:
  --messages N         group messages sent one at a time (default 20, at least 20)
  --pause MS           pause between two of them (default 250)
  --timeout S          per message: give up waiting for every member after S s (default 10)
  throughput phase:
  --rate R             offered group messages/s (default 4; each is M - 1 deliveries)
  --seconds S          sending time (default 20)
  --senders N          distinct members sending, round robin (default 8)
  --drain S            after the last send, wait up to S s for outstanding deliveries (default 10)
  --late S             then up to S s more (while deliveries come, see --stall) to tell late from lost (default 120)
  --settle S           before each phase, wait up to S s for deliveries still owed by earlier ones (default 300)
  --stall S            every such wait also ends once S s pass without any delivery (default 90: longer
                       than the server's longest retry backoff, 60 s, so a retry by alarm is seen)
  --find-max           after the fixed-rate run, step the rate up (--steps, --step-seconds) and print
                       the highest rate held (zero loss/duplicates/errors/gaps, backlog not growing)
  --steps LIST         rates for --find-max (default 1,2,3,4,6,8,12,16,24,32,48,64)
  --step-seconds S     seconds per step (default 10)
  offline sync phase:
  --offline-messages N group messages sent while the extra member is offline (default 1000; 0 skips)
  --offline-window N   sends in flight meanwhile (default 16)
  --offline-drain S    wait up to S s for their fan-out to the online members (default 900)
  --limit N            PT_SYNC page size asked for (default 500)
  --skip LIST          phases to skip: latency,throughput,offline
  --max-minutes N      hard limit of the whole run (default 90)
  --json               also print the results as one JSON line`;

const DEFAULTS = {
  members: 1000,
  tmp: "",
  concurrency: 16,
  "open-concurrency": 32,
  bytes: 32,
  messages: 20,
  pause: 250,
  timeout: 10,
  rate: 4,
  seconds: 20,
  senders: 8,
  drain: 10,
  late: 120,
  settle: 300,
  stall: 90,
  "find-max": false,
  steps: "1,2,3,4,6,8,12,16,24,32,48,64",
  "step-seconds": 10,
  "offline-messages": 1000,
  "offline-window": 16,
  "offline-drain": 900,
  limit: 500,
  skip: "",
  "max-minutes": 90,
  json: false,
};

/** Target of the latency phase: every member device has a message within this time (p99). */
export const FANOUT_TARGET_MS = 2000;
/** Target of the throughput phase: deliveries/s sustained with zero loss. */
export const DELIVERIES_FLOOR = 2000;

/**
 * Parses and checks the command line (`--help` prints USAGE and exits).
 * @returns {{ opts: object, skip: Set<string>, steps: number[], M: number, expected: number }}
 *   `M` online members; `expected` deliveries per group message (every online member but the sender).
 * @throws Error on an unknown option or a value out of range.
 */
export function parseOptions(argv = process.argv.slice(2)) {
  const opts = parseArgs(DEFAULTS, argv, USAGE);
  if (!(opts.members >= 2 && opts.members <= 1999)) {
    throw new Error("--members must be 2..1999 (the group cap is 2000 with the extra member)");
  }
  if (!(opts.messages >= 20 && opts.messages <= 10_000)) {
    throw new Error("--messages must be 20..10000 (the p99 target is over at least 20 messages)");
  }
  if (!(opts.rate > 0 && opts.rate <= 1000 && opts.seconds > 0 && opts.seconds <= 3600 && opts["step-seconds"] > 0 && opts["step-seconds"] <= 3600)) {
    throw new Error("need 0 < --rate <= 1000 and 0 < --seconds, --step-seconds <= 3600");
  }
  if (!(opts["offline-messages"] >= 0 && opts["offline-messages"] <= 100_000)) {
    throw new Error("--offline-messages must be 0..100000");
  }
  const skip = new Set(opts.skip.split(",").map((s) => s.trim()).filter(Boolean));
  const steps = opts.steps.split(",").map(Number).filter((n) => n > 0 && n <= 1000).slice(0, 30);
  return { opts, skip, steps, M: opts.members, expected: opts.members - 1 };
}
