// Command line of bench/relay.mjs: the usage text and the options with their defaults.
import { parseArgs } from "../lib.mjs";

export const USAGE = `usage: node bench/relay.mjs [options]
  --rate R          offered 1:1 messages/s (default 800)
  --seconds S       load duration per transport (default 20)
  --users N         users of the 1:1 scenario (default 50), --devices per user (default 2)
  --order LIST      transports in run order (default direct,relay; repeat for rounds, e.g. direct,relay,direct,relay)
  --relay MODE      inline (the relay in this process, default) or child (its own node process)
  --paired N        also N paired runs: both transports at once on separate users, rate/2 each (default 0)
  --drain S         seconds after the load within which a delivery must arrive, else it counts as lost (default 5)
  --late S          then wait up to S more seconds for the rest before the next run (default 120)
  --idle N          idle TCP connections for the memory part (default 5000; 0 = skip)
  --idle-devices N  devices per user for the idle part (default 5: N/5 users)
  --hold S          seconds to hold the idle connections (default 60)
  --skip-load       only the idle part
  --tmp DIR         make the state dir under DIR (default: the OS temp dir)
  --json            also print the results as one JSON line`;

const DEFAULTS = { rate: 800, seconds: 20, users: 50, devices: 2, order: "direct,relay", relay: "inline", drain: 5, late: 120, paired: 0, idle: 5000, "idle-devices": 5, hold: 60, "skip-load": false, tmp: "", json: false };

/**
 * Parses the command line (`--help` prints USAGE and exits).
 * @throws Error on an unknown option or a number that is not one.
 */
export function parseOptions(argv = process.argv.slice(2)) {
  return parseArgs(DEFAULTS, argv, USAGE);
}
