// Command line of bench/room.mjs: the usage text, the options with their defaults, their
// checks, and the constants derived from them.
import { parseArgs } from "../lib.mjs";

export const USAGE = `usage: node bench/room.mjs [options]
  --subscribers N      room sockets (default 5000)
  --devices N          devices per user (default 10: 500 users x 10 devices for 5000)
  --rate R             room messages/s offered by the one sender (default 5; each is N deliveries)
  --seconds S          sending time of the fixed-rate run (default 20)
  --send-via socket|http  PT_PUSH_ROOM on the sender's /ws socket (default) or POST PushRoom
  --bytes N            text length of each message, at least the header (default 64)
  --p99 MS             latency target of a held run (default 500)
  --drain S            after the last send, wait up to S s for outstanding deliveries (default 10)
  --late S             then, while deliveries still come, up to S s more to tell late from lost (default 60)
  --find-max           after the fixed-rate run, step the rate up (--steps, --step-seconds) and print
                       the highest deliveries/s held
  --steps LIST         rates (messages/s) for --find-max (default 2,3,4,5,6,8,10,12,16,20,24,32,48,64)
  --step-seconds S     seconds per step (default 10)
  --push-all N         user sockets (/ws) for push-to-all (default: --subscribers; 0 skips the phase)
  --push-all-repeats N PushAll calls, one after another (default 3)
  --push-all-gap S     pause before each PushAll call (default 2; the first waits this long after
                       the last socket opened)
  --keep-room-sockets  keep the room sockets open during push-all (default: close them first)
  --concurrency N      RegisterDevice/SignIn calls in flight (default 16)
  --open-concurrency N WebSocket upgrades in flight (default 32)
  --max-load L         before starting, wait while the 1-min load average is above L (default 2.5)
  --load-wait M        wait at most M minutes for that (default 20; 0 = do not wait); the same budget
                       (at most 5 min per phase) then holds each measured phase while other
                       processes use more than half a core
  --shard-size N       ROOM_SHARD_SIZE for the local server (default: the server's, 10000 = one shard)
  --tmp DIR            make the fresh state dir under DIR (default: the OS temp dir)
  --timeline           per second of sending: messages sent, fan-out time p50/max (send -> last socket)
  --deflate            offer permessage-deflate on the room sockets, as browsers do (the server
                       declines it; the run prints on how many sockets it was agreed)
  --verbose            server log (workerd) on stderr
  --max-minutes N      hard limit of the whole run (default 75)
  --json               also print the results as one JSON line`;

const DEFAULTS = {
  subscribers: 5000,
  devices: 10,
  rate: 5,
  seconds: 20,
  "send-via": "socket",
  bytes: 64,
  p99: 500,
  drain: 10,
  late: 60,
  "find-max": false,
  steps: "2,3,4,5,6,8,10,12,16,20,24,32,48,64",
  "step-seconds": 10,
  "push-all": -1,
  "push-all-repeats": 3,
  "push-all-gap": 2,
  "keep-room-sockets": false,
  concurrency: 16,
  "open-concurrency": 32,
  "max-load": 2.5,
  "load-wait": 20,
  "shard-size": 0,
  tmp: "",
  timeline: false,
  deflate: false,
  verbose: false,
  "max-minutes": 75,
  json: false,
};

/** Target of the fixed-rate run: deliveries/s with p99 < 500 ms and zero loss. */
export const DELIVERIES_FLOOR = 20_000;

/**
 * Parses and checks the command line (`--help` prints USAGE and exits).
 * @returns {{ opts: object, N: number, DEVICES: number, PUSH_ALL_N: number, steps: number[] }}
 *   `N` room sockets, `DEVICES` per user, `PUSH_ALL_N` user sockets of push-all (0 = none).
 * @throws Error on an unknown option or a value out of range.
 */
export function parseOptions(argv = process.argv.slice(2)) {
  const opts = parseArgs(DEFAULTS, argv, USAGE);
  const N = Math.floor(opts.subscribers);
  const DEVICES = Math.floor(opts.devices);
  const PUSH_ALL_N = opts["push-all"] < 0 ? N : Math.floor(opts["push-all"]);
  if (!(N >= 1 && N <= 15_000)) {
    throw new Error("--subscribers must be 1..15000");
  }
  if (!(DEVICES >= 1 && DEVICES <= 50)) {
    throw new Error("--devices must be 1..50");
  }
  if (!(PUSH_ALL_N >= 0 && PUSH_ALL_N <= 15_000)) {
    throw new Error("--push-all must be 0..15000");
  }
  if (!(opts.rate > 0 && opts.rate <= 1000 && opts.seconds > 0 && opts.seconds <= 600 && opts["step-seconds"] > 0 && opts["step-seconds"] <= 600)) {
    throw new Error("need 0 < --rate <= 1000 and 0 < --seconds, --step-seconds <= 600");
  }
  if (!["socket", "http"].includes(opts["send-via"])) {
    throw new Error("--send-via must be socket or http");
  }
  if (!(opts["push-all-repeats"] >= 1 && opts["push-all-repeats"] <= 20)) {
    throw new Error("--push-all-repeats must be 1..20");
  }
  if (!(opts["push-all-gap"] >= 0 && opts["push-all-gap"] <= 300)) {
    throw new Error("--push-all-gap must be 0..300");
  }
  const steps = opts.steps.split(",").map(Number).filter((n) => n > 0 && n <= 1000).slice(0, 30);
  return { opts, N, DEVICES, PUSH_ALL_N, steps };
}
