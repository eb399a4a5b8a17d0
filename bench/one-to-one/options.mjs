// Command line of bench/one-to-one.mjs: the usage text, the options with their defaults and
// their checks.
import { parseArgs } from "../lib.mjs";

export const USAGE = `usage: node bench/one-to-one.mjs [options]
  --url URL            use a running server on 127.0.0.1 (default: start one in-process, fresh state)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir; /dev/shm = tmpfs, no disk fsync)
  --users N            users (default 50)
  --devices N          devices per user (default 2)
  --rate R             offered messages/s (default 800)
  --seconds S          load duration (default 20)
  --warmup W           before measuring, not counted: "pairs" (default) sends one message per ordered
                       user pair at half the rate (every inbox has met every peer: its receiver lookup
                       cache is warm); a number S sends random messages for S s at a quarter of the
                       rate; 0 measures a cold server
  --drain S            seconds to wait for outstanding deliveries after the load (default 5)
  --late S             after the drain, wait up to S more seconds (while deliveries still come) to tell late from never (default 60)
  --bytes N            text length of each message (default 32)
  --ack                ack pushed seqs once a second per device (PT_MESSAGE MessageACK), like a client would
  --find-max           step the rate up (--steps, --step-seconds) and print the highest rate held
  --steps LIST         rates for --find-max (default 800,1000,1200,1500,2000,2500,3000,4000,5000)
  --step-seconds S     seconds per --find-max step (default 10)
  --p99 MS             latency target for --find-max (default 250)
  --concurrency N      setup calls in flight (default 8)
  --timeline           print delivery latency per second of sending (p50/p99/max), to spot stalls
  --json               also print the results as one JSON line`;

const DEFAULTS = {
  url: "",
  tmp: "",
  users: 50,
  devices: 2,
  rate: 800,
  seconds: 20,
  warmup: "pairs",
  drain: 5,
  late: 60,
  bytes: 32,
  ack: false,
  "find-max": false,
  steps: "800,1000,1200,1500,2000,2500,3000,4000,5000",
  "step-seconds": 10,
  p99: 250,
  concurrency: 8,
  json: false,
  timeline: false,
  "max-outstanding": 50_000,
};

const MAX_SECONDS = 3600;

/**
 * Parses and checks the command line (`--help` prints USAGE and exits).
 * @throws Error on an unknown option or a value out of range.
 */
export function parseOptions(argv = process.argv.slice(2)) {
  const opts = parseArgs(DEFAULTS, argv, USAGE);
  if (opts.users < 2 || opts.devices < 1 || opts.rate <= 0 || opts.seconds <= 0) {
    throw new Error("need --users >= 2, --devices >= 1, --rate > 0, --seconds > 0");
  }
  if (opts.warmup !== "pairs" && !(Number(opts.warmup) >= 0)) {
    throw new Error("--warmup must be pairs or a number of seconds");
  }
  if (opts.seconds > MAX_SECONDS || opts["step-seconds"] > MAX_SECONDS) {
    throw new Error(`durations are capped at ${MAX_SECONDS} s`);
  }
  return opts;
}
