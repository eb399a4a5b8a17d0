/** What every session shares with its relay: configuration, logs, metrics, the shared store. */
import type { RelayConfig } from "./config";
import type { Fields, Logger } from "./log";
import type { Metrics } from "./metrics";
import type { Store } from "./store";
import type { UpstreamOptions } from "./upstream";

export interface RelayContext {
  readonly config: RelayConfig;
  readonly log: Logger;
  /** A warning at most every 10 s per key (for failures that hit many connections at once). */
  readonly warnEvery: (key: string, msg: string, fields?: Fields) => void;
  readonly metrics: Metrics;
  readonly store: Store;
  /** ws(s)://host[:port] of the Worker. */
  readonly upstreamBase: string;
  readonly upstreamOptions: UpstreamOptions;
}

/** A refused upgrade's HTTP status as a gim code, when the body carried none. */
export function codeForStatus(status: number): number {
  if (status === 401 || status === 403) {
    return 10000;
  }
  if (status === 400 || status === 404) {
    return 10001;
  }
  return status === 429 ? 8 : 14;
}
