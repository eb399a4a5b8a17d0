/** Relay configuration: defaults, environment variables, validation (once, at start). */
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { DEFAULT_MAX_FRAME_BYTES, type Framing } from "./framing";
import type { LogLevel } from "./log";

export interface TcpListenerConfig {
  /** 0 = any free port. */
  port: number;
  framing: Framing;
}

export interface RelayConfig {
  /** The Worker's base URL (http or https); the relay opens ws(s)://…/ws and /room and POSTs Connect calls. */
  workerUrl: string;
  /** Address the listeners bind to. */
  host: string;
  tcp: TcpListenerConfig[];
  /** gim-compatible first-packet WebSocket listener; null = off. */
  wsPort: number | null;
  wsPath: string;
  /** gRPC listener (pb.LogicExt, pb.BusinessExt); null = off. */
  grpcPort: number | null;
  /** HTTP: /metrics (Prometheus text), /healthz, /readyz, /fleet; null = off. */
  metricsPort: number | null;
  maxFrameBytes: number;
  idleTimeoutMs: number;
  /** An unfinished frame older than this closes the connection (slowloris). */
  readTimeoutMs: number;
  /** The first packet (PT_SIGN_IN) must arrive within this. */
  signInTimeoutMs: number;
  /** Text "ping" on idle upstream sockets (answered without waking the object). */
  upstreamPingMs: number;
  upstreamConnectTimeoutMs: number;
  /**
   * Bytes queued for a client above which the relay stops reading its upstream sockets (the
   * client socket's write high-water mark). Paused for longer than slowConsumerMs = slow consumer.
   */
  slowConsumerBytes: number;
  slowConsumerMs: number;
  /** Hard cap of bytes queued for one client (frames already read upstream): over it, closed at once. */
  maxBufferedBytes: number;
  /** A closing connection whose client does not read the last bytes is destroyed after this. */
  closeGraceMs: number;
  maxConnections: number;
  rateWindowMs: number;
  /** New connections per client address per window, over all instances; 0 = unlimited. */
  connectionsPerIp: number;
  /** Failed sign-ins per client address per window, over all instances; 0 = unlimited. */
  failedSignInsPerIp: number;
  /** Redis for the device registry, fleet membership and shared rate limits; null = single instance, in memory. */
  redisUrl: string | null;
  redisPrefix: string;
  instanceId: string;
  registryTtlMs: number;
  fleetTtlMs: number;
  /** SIGTERM: closes are spread over this window. */
  drainMs: number;
  grpcTimeoutMs: number;
  logLevel: LogLevel;
  /** Folder with logic.ext.proto and business.ext.proto (method names of the gRPC services). */
  protoDir: string;
  /** Period of the one timer that checks every connection's deadlines. */
  tickMs: number;
}

/** What startRelay accepts: workerUrl and any overrides of the defaults. */
export type RelayOptions = Partial<RelayConfig> & { workerUrl: string };

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid relay configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

const SECOND = 1000;

export const DEFAULTS: Omit<RelayConfig, "workerUrl"> = {
  host: "0.0.0.0",
  tcp: [{ port: 8080, framing: "u16" }],
  wsPort: 8081,
  wsPath: "/ws",
  grpcPort: 50051,
  metricsPort: 9090,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  idleTimeoutMs: 720 * SECOND,
  readTimeoutMs: 30 * SECOND,
  signInTimeoutMs: 30 * SECOND,
  upstreamPingMs: 45 * SECOND,
  upstreamConnectTimeoutMs: 10 * SECOND,
  slowConsumerBytes: 64 * 1024,
  slowConsumerMs: 10 * SECOND,
  maxBufferedBytes: 1024 * 1024,
  closeGraceMs: 5 * SECOND,
  maxConnections: 100_000,
  rateWindowMs: 60 * SECOND,
  connectionsPerIp: 300,
  failedSignInsPerIp: 30,
  redisUrl: null,
  redisPrefix: "gim-relay:",
  instanceId: `${hostname()}-${process.pid}`,
  registryTtlMs: 600 * SECOND,
  fleetTtlMs: 30 * SECOND,
  drainMs: 30 * SECOND,
  grpcTimeoutMs: 30 * SECOND,
  logLevel: "info",
  protoDir: fileURLToPath(new URL("../../proto/", import.meta.url)),
  tickMs: SECOND,
};

const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"];
const PORT_MAX = 65_535;

type Check = (config: RelayConfig, problems: string[]) => void;

const range =
  (key: keyof RelayConfig, min: number, max: number, what = String(key)): Check =>
  (config, problems) => {
    const value = config[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${what} must be a number in ${min}..${max}, got ${String(value)}`);
    }
  };

const optionalPort =
  (key: "wsPort" | "grpcPort" | "metricsPort", what: string): Check =>
  (config, problems) => {
    const value = config[key];
    if (value !== null && (!Number.isInteger(value) || value < 0 || value > PORT_MAX)) {
      problems.push(`${what} must be a port (0..${PORT_MAX}) or "off", got ${String(value)}`);
    }
  };

const CHECKS: Check[] = [
  (config, problems) => {
    let url: URL | null = null;
    try {
      url = new URL(config.workerUrl);
    } catch {
      // reported below
    }
    if (!config.workerUrl) {
      problems.push("WORKER_URL is required (the Worker's base URL, e.g. http://127.0.0.1:8787)");
    } else if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      problems.push(`WORKER_URL must be an http(s) URL such as http://127.0.0.1:8787, got ${JSON.stringify(config.workerUrl)}`);
    }
  },
  (config, problems) => {
    if (config.tcp.length === 0 && config.wsPort === null && config.grpcPort === null) {
      problems.push("no listener: set TCP_PORT, WS_PORT or GRPC_PORT");
    }
    for (const listener of config.tcp) {
      if (!Number.isInteger(listener.port) || listener.port < 0 || listener.port > PORT_MAX) {
        problems.push(`TCP port must be 0..${PORT_MAX}, got ${String(listener.port)}`);
      }
      if (listener.framing !== "u16" && listener.framing !== "varint") {
        problems.push(`TCP_FRAMING must be u16 or varint, got ${String(listener.framing)}`);
      }
    }
  },
  optionalPort("wsPort", "WS_PORT"),
  optionalPort("grpcPort", "GRPC_PORT"),
  optionalPort("metricsPort", "METRICS_PORT"),
  (config, problems) => {
    if (!config.wsPath.startsWith("/")) {
      problems.push(`WS_PATH must start with /, got ${JSON.stringify(config.wsPath)}`);
    }
    if (!LOG_LEVELS.includes(config.logLevel)) {
      problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(config.logLevel)}`);
    }
    if (config.redisUrl !== null && !/^rediss?:\/\//.test(config.redisUrl)) {
      problems.push(`REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(config.redisUrl)}`);
    }
    if (!config.instanceId || /\s/.test(config.instanceId)) {
      problems.push(`INSTANCE_ID must be a non-empty word, got ${JSON.stringify(config.instanceId)}`);
    }
    if (config.slowConsumerBytes > config.maxBufferedBytes) {
      problems.push("SLOW_CONSUMER_BYTES must not be above MAX_BUFFERED_BYTES");
    }
  },
  range("maxFrameBytes", 64, 16 * 1024 * 1024, "MAX_FRAME_BYTES"),
  range("idleTimeoutMs", 10, 86_400 * SECOND, "IDLE_TIMEOUT_SECONDS"),
  range("readTimeoutMs", 10, 3_600 * SECOND, "READ_TIMEOUT_SECONDS"),
  range("signInTimeoutMs", 10, 3_600 * SECOND, "SIGN_IN_TIMEOUT_SECONDS"),
  range("upstreamPingMs", 10, 3_600 * SECOND, "UPSTREAM_PING_SECONDS"),
  range("upstreamConnectTimeoutMs", 10, 600 * SECOND, "UPSTREAM_CONNECT_TIMEOUT_SECONDS"),
  range("slowConsumerBytes", 1024, 1024 ** 3, "SLOW_CONSUMER_BYTES"),
  range("slowConsumerMs", 0, 3_600 * SECOND, "SLOW_CONSUMER_SECONDS"),
  range("maxBufferedBytes", 1024, 1024 ** 3, "MAX_BUFFERED_BYTES"),
  range("closeGraceMs", 0, 600 * SECOND, "CLOSE_GRACE_SECONDS"),
  range("maxConnections", 1, 10_000_000, "MAX_CONNECTIONS"),
  range("rateWindowMs", 10, 86_400 * SECOND, "RATE_WINDOW_SECONDS"),
  range("connectionsPerIp", 0, 10_000_000, "RATE_CONNECTIONS_PER_IP"),
  range("failedSignInsPerIp", 0, 10_000_000, "RATE_FAILED_SIGNINS_PER_IP"),
  range("registryTtlMs", 1 * SECOND, 86_400 * SECOND, "REGISTRY_TTL_SECONDS"),
  range("fleetTtlMs", 1 * SECOND, 3_600 * SECOND, "FLEET_TTL_SECONDS"),
  range("drainMs", 0, 3_600 * SECOND, "DRAIN_SECONDS"),
  range("grpcTimeoutMs", 10, 3_600 * SECOND, "GRPC_TIMEOUT_SECONDS"),
  range("tickMs", 5, 60 * SECOND, "tickMs"),
];

/**
 * Fills defaults and validates.
 * @throws ConfigError listing every problem.
 */
export function resolveConfig(options: RelayOptions): RelayConfig {
  const config: RelayConfig = { ...DEFAULTS, ...options };
  const problems: string[] = [];
  for (const check of CHECKS) {
    check(config, problems);
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return { ...config, workerUrl: config.workerUrl.replace(/\/+$/, "") };
}

type Env = Record<string, string | undefined>;

/** Reads the environment (names in README.md), then resolveConfig. @throws ConfigError. */
export function loadConfig(env: Env = process.env): RelayConfig {
  const options: Partial<RelayConfig> = {};
  const set = (name: string, apply: (value: string) => void) => {
    const value = env[name]?.trim();
    if (value !== undefined && value !== "") {
      apply(value);
    }
  };
  // A non-number is kept as the text, so the range check reports it as given.
  const num = (value: string, scale = 1): number => {
    const n = Number(value);
    return Number.isFinite(n) ? n * scale : (value as unknown as number);
  };
  const port = (value: string): number | null => (value === "off" ? null : num(value));
  const seconds = (key: keyof RelayConfig, name: string) => set(name, (v) => Object.assign(options, { [key]: num(v, SECOND) }));
  const plain = (key: keyof RelayConfig, name: string) => set(name, (v) => Object.assign(options, { [key]: num(v) }));

  const tcpPort = env.TCP_PORT?.trim() === "off" ? null : num(env.TCP_PORT?.trim() || "8080");
  const framing = (env.TCP_FRAMING?.trim() || "u16") as Framing;
  const tcp: TcpListenerConfig[] = tcpPort === null ? [] : [{ port: tcpPort, framing }];
  set("TCP_VARINT_PORT", (v) => v !== "off" && tcp.push({ port: num(v), framing: "varint" }));
  options.tcp = tcp;
  set("WORKER_URL", (v) => (options.workerUrl = v));
  set("RELAY_HOST", (v) => (options.host = v));
  set("WS_PORT", (v) => (options.wsPort = port(v)));
  set("WS_PATH", (v) => (options.wsPath = v));
  set("GRPC_PORT", (v) => (options.grpcPort = port(v)));
  set("METRICS_PORT", (v) => (options.metricsPort = port(v)));
  plain("maxFrameBytes", "MAX_FRAME_BYTES");
  seconds("idleTimeoutMs", "IDLE_TIMEOUT_SECONDS");
  seconds("readTimeoutMs", "READ_TIMEOUT_SECONDS");
  seconds("signInTimeoutMs", "SIGN_IN_TIMEOUT_SECONDS");
  seconds("upstreamPingMs", "UPSTREAM_PING_SECONDS");
  seconds("upstreamConnectTimeoutMs", "UPSTREAM_CONNECT_TIMEOUT_SECONDS");
  plain("slowConsumerBytes", "SLOW_CONSUMER_BYTES");
  seconds("slowConsumerMs", "SLOW_CONSUMER_SECONDS");
  plain("maxBufferedBytes", "MAX_BUFFERED_BYTES");
  seconds("closeGraceMs", "CLOSE_GRACE_SECONDS");
  plain("maxConnections", "MAX_CONNECTIONS");
  seconds("rateWindowMs", "RATE_WINDOW_SECONDS");
  plain("connectionsPerIp", "RATE_CONNECTIONS_PER_IP");
  plain("failedSignInsPerIp", "RATE_FAILED_SIGNINS_PER_IP");
  set("REDIS_URL", (v) => (options.redisUrl = v));
  set("REDIS_PREFIX", (v) => (options.redisPrefix = v));
  set("INSTANCE_ID", (v) => (options.instanceId = v));
  seconds("registryTtlMs", "REGISTRY_TTL_SECONDS");
  seconds("fleetTtlMs", "FLEET_TTL_SECONDS");
  seconds("drainMs", "DRAIN_SECONDS");
  seconds("grpcTimeoutMs", "GRPC_TIMEOUT_SECONDS");
  set("LOG_LEVEL", (v) => (options.logLevel = v as LogLevel));
  set("PROTO_DIR", (v) => (options.protoDir = v));

  return resolveConfig({ ...options, workerUrl: options.workerUrl ?? "" });
}
