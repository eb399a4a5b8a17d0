/**
 * Counters in plain objects (one per listener, incremented on the hot path without lookups)
 * and their Prometheus text exposition.
 */

export type ListenerName = "tcp" | "ws" | "grpc";

export interface ListenerCounters {
  connectionsTotal: number;
  connectionsOpen: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  heartbeatsAnswered: number;
  upstreamPauses: number;
  /** Closes by close-code name (SLOW_CONSUMER, READ_TIMEOUT, …). */
  closes: Map<string, number>;
  /** Errors by kind (frame_too_large, bad_first_packet, upstream_refused, …). */
  errors: Map<string, number>;
}

const COUNTER_HELP: [keyof Omit<ListenerCounters, "closes" | "errors" | "connectionsOpen">, string, string][] = [
  ["connectionsTotal", "gim_relay_connections_total", "Client connections accepted"],
  ["framesIn", "gim_relay_frames_in_total", "Envelopes received from clients"],
  ["framesOut", "gim_relay_frames_out_total", "Envelopes written to clients"],
  ["bytesIn", "gim_relay_bytes_in_total", "Envelope bytes received from clients (without framing)"],
  ["bytesOut", "gim_relay_bytes_out_total", "Envelope bytes written to clients (without framing)"],
  ["heartbeatsAnswered", "gim_relay_heartbeats_answered_total", "PT_HEARTBEAT packets answered by the relay itself"],
  ["upstreamPauses", "gim_relay_upstream_pauses_total", "Times upstream reading was paused for a slow client"],
];

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export class Metrics {
  readonly listeners: Record<ListenerName, ListenerCounters>;
  readonly grpcCalls = new Map<string, number>();
  redisErrors = 0;
  draining = 0;

  constructor() {
    const make = (): ListenerCounters => ({
      connectionsTotal: 0,
      connectionsOpen: 0,
      framesIn: 0,
      framesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      heartbeatsAnswered: 0,
      upstreamPauses: 0,
      closes: new Map(),
      errors: new Map(),
    });
    this.listeners = { tcp: make(), ws: make(), grpc: make() };
  }

  error(listener: ListenerName, kind: string): void {
    bump(this.listeners[listener].errors, kind);
  }

  closed(listener: ListenerName, reason: string): void {
    bump(this.listeners[listener].closes, reason);
  }

  grpcCall(method: string, code: string): void {
    bump(this.grpcCalls, `${method}\u0000${code}`);
  }

  /** Prometheus text format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    const names = Object.keys(this.listeners) as ListenerName[];
    for (const [key, metric, help] of COUNTER_HELP) {
      lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} counter`);
      names.forEach((l) => lines.push(`${metric}{listener="${l}"} ${this.listeners[l][key]}`));
    }
    lines.push("# HELP gim_relay_connections_open Client connections open now", "# TYPE gim_relay_connections_open gauge");
    names.forEach((l) => lines.push(`gim_relay_connections_open{listener="${l}"} ${this.listeners[l].connectionsOpen}`));
    lines.push("# HELP gim_relay_closes_total Connections closed, by reason", "# TYPE gim_relay_closes_total counter");
    names.forEach((l) => this.listeners[l].closes.forEach((n, reason) => lines.push(`gim_relay_closes_total{listener="${l}",reason="${reason}"} ${n}`)));
    lines.push("# HELP gim_relay_errors_total Errors, by kind", "# TYPE gim_relay_errors_total counter");
    names.forEach((l) => this.listeners[l].errors.forEach((n, kind) => lines.push(`gim_relay_errors_total{listener="${l}",kind="${kind}"} ${n}`)));
    lines.push("# HELP gim_relay_grpc_calls_total gRPC calls forwarded, by method and status", "# TYPE gim_relay_grpc_calls_total counter");
    this.grpcCalls.forEach((n, key) => {
      const [method, code] = key.split("\u0000");
      lines.push(`gim_relay_grpc_calls_total{method="${method}",code="${code}"} ${n}`);
    });
    lines.push("# HELP gim_relay_redis_errors_total Redis commands that failed (the relay fails open)", "# TYPE gim_relay_redis_errors_total counter");
    lines.push(`gim_relay_redis_errors_total ${this.redisErrors}`);
    lines.push("# HELP gim_relay_draining 1 while the relay drains for shutdown", "# TYPE gim_relay_draining gauge");
    lines.push(`gim_relay_draining ${this.draining}`);
    const mem = process.memoryUsage();
    lines.push("# HELP gim_relay_process_resident_memory_bytes Resident memory of the relay process", "# TYPE gim_relay_process_resident_memory_bytes gauge");
    lines.push(`gim_relay_process_resident_memory_bytes ${mem.rss}`);
    lines.push("# HELP gim_relay_process_heap_used_bytes V8 heap in use", "# TYPE gim_relay_process_heap_used_bytes gauge");
    lines.push(`gim_relay_process_heap_used_bytes ${mem.heapUsed}`);
    return `${lines.join("\n")}\n`;
  }
}
