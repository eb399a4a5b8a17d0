/**
 * startRelay: the listeners, the sessions, one ticker for every deadline, the shared store,
 * the operations endpoint, and the graceful drain.
 */
import type { Server as HttpServer } from "node:http";
import type { Server as TcpServer } from "node:net";
import { RelayClose } from "./codes";
import { resolveConfig, type RelayConfig, type RelayOptions } from "./config";
import type { RelayContext } from "./context";
import { startGrpc, type GrpcListener } from "./grpc";
import { startTcpListener, startWsListener, type Admission } from "./listeners";
import { createLogger, throttledWarn, type Logger, type LogLevel } from "./log";
import { Metrics } from "./metrics";
import { startOpsServer } from "./ops";
import { Session } from "./session";
import { MemoryStore, type InstanceInfo, type Store } from "./store";
import { RedisStore } from "./store-redis";

export interface RelayPorts {
  /** One per TCP listener, in config order. */
  tcp: number[];
  ws: number | null;
  grpc: number | null;
  metrics: number | null;
}

export interface Relay {
  readonly ports: RelayPorts;
  readonly config: RelayConfig;
  readonly metrics: Metrics;
  readonly store: Store;
  /** Open client connections (TCP and WebSocket). */
  connections(): number;
  /** This instance's fleet record as announced. */
  info(): InstanceInfo;
  /**
   * Stops accepting, then closes clients spread over `drainMs` (4001 DRAINING: reconnect
   * elsewhere), destroys what is left after the close grace, and leaves the fleet.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

export interface RelayDeps {
  /** Receives log lines instead of stdout/stderr. */
  logSink?: (level: LogLevel, line: string) => void;
}

interface Listeners {
  tcp: TcpServer[];
  ws: HttpServer | null;
  grpc: GrpcListener | null;
  ops: HttpServer | null;
}

async function openStore(config: RelayConfig, log: Logger, metrics: Metrics): Promise<Store> {
  if (!config.redisUrl) {
    return new MemoryStore(config.instanceId, config.rateWindowMs, config.registryTtlMs);
  }
  const { redisUrl: url, redisPrefix: prefix, instanceId, rateWindowMs, registryTtlMs, fleetTtlMs } = config;
  return RedisStore.connect({ url, prefix, instanceId, rateWindowMs, registryTtlMs, fleetTtlMs, log, metrics });
}

/** Admission of new connections: draining, instance full, new connections per address. */
function admission(ctx: RelayContext, sessions: Set<Session>, isDraining: () => boolean): Admission {
  const { config, metrics, store } = ctx;
  const draining = { code: RelayClose.DRAINING, reason: "relay draining; reconnect" };
  return {
    async check(listener, address) {
      if (isDraining()) {
        return draining;
      }
      if (sessions.size >= config.maxConnections) {
        metrics.error(listener, "instance_full");
        return { code: RelayClose.RATE_LIMITED, reason: "relay instance full; reconnect later" };
      }
      if (config.connectionsPerIp > 0 && (await store.hit("conn", address)) > config.connectionsPerIp) {
        metrics.error(listener, "rate_limited");
        return { code: RelayClose.RATE_LIMITED, reason: `more than ${config.connectionsPerIp} new connections from this address in ${config.rateWindowMs / 1000} s` };
      }
      return isDraining() ? draining : null;
    },
    accept(link) {
      sessions.add(new Session(ctx, link, (s) => sessions.delete(s)));
    },
  };
}

async function openListeners(ctx: RelayContext, admit: Admission, ops: Parameters<typeof startOpsServer>[0], ports: RelayPorts, listeners: Listeners): Promise<void> {
  const { config } = ctx;
  for (const listener of config.tcp) {
    const { server, port } = await startTcpListener(ctx, admit, listener.port, listener.framing);
    listeners.tcp.push(server);
    ports.tcp.push(port);
  }
  if (config.wsPort !== null) {
    const { server, port } = await startWsListener(ctx, admit, config.wsPort);
    [listeners.ws, ports.ws] = [server, port];
  }
  if (config.grpcPort !== null) {
    listeners.grpc = await startGrpc(ctx, config.host, config.grpcPort);
    ports.grpc = listeners.grpc.port;
  }
  if (config.metricsPort !== null) {
    const { server, port } = await startOpsServer(ops, config.host, config.metricsPort);
    [listeners.ops, ports.metrics] = [server, port];
  }
}

/** Closes every session with DRAINING, spread evenly over `drainMs`; destroys stragglers. */
async function drainSessions(sessions: Set<Session>, config: RelayConfig, drainMs: number): Promise<void> {
  const list = [...sessions];
  const timers = list.map((s, i) => setTimeout(() => s.close(RelayClose.DRAINING, "relay draining; reconnect"), list.length > 1 ? (i * drainMs) / list.length : 0));
  const deadline = Date.now() + drainMs + config.closeGraceMs + 1_000;
  while (sessions.size > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(50, config.tickMs)));
  }
  timers.forEach(clearTimeout);
  sessions.forEach((s) => s.link.destroy());
}

/** Starts a relay. @throws ConfigError on invalid options, Error when a port or Redis is unavailable. */
export async function startRelay(options: RelayOptions, deps: RelayDeps = {}): Promise<Relay> {
  const config = resolveConfig(options);
  const log = createLogger(config.logLevel, { instance: config.instanceId }, deps.logSink);
  const metrics = new Metrics();
  const store = await openStore(config, log, metrics);
  const upstreamOptions = { connectTimeoutMs: config.upstreamConnectTimeoutMs, maxPayloadBytes: Math.max(4 * config.maxFrameBytes, 1024 * 1024) };
  const ctx: RelayContext = { config, log, warnEvery: throttledWarn(log, 10_000), metrics, store, upstreamBase: config.workerUrl.replace(/^http/, "ws"), upstreamOptions };
  const sessions = new Set<Session>();
  const startedAt = Date.now();
  let draining = false;
  const ports: RelayPorts = { tcp: [], ws: null, grpc: null, metrics: null };
  const listeners: Listeners = { tcp: [], ws: null, grpc: null, ops: null };

  const info = (): InstanceInfo => {
    let devices = 0;
    sessions.forEach((s) => (devices += s.deviceId ? 1 : 0));
    const connections = { tcp: metrics.listeners.tcp.connectionsOpen, ws: metrics.listeners.ws.connectionsOpen };
    return { id: config.instanceId, startedAt, updatedAt: Date.now(), draining, connections, devices, ports: { ...ports } };
  };
  let [refreshedAt, announcedAt] = [startedAt, startedAt];
  const ticker = setInterval(() => {
    const now = Date.now();
    sessions.forEach((s) => s.tick(now));
    if (now - refreshedAt >= config.registryTtlMs / 3) {
      refreshedAt = now;
      const held: number[] = [];
      sessions.forEach((s) => s.deviceId && s.state !== "closing" && held.push(s.deviceId));
      void store.refreshDevices(held);
    }
    if (now - announcedAt >= config.fleetTtlMs / 3) {
      announcedAt = now;
      void store.announce(info());
    }
  }, config.tickMs);
  ticker.unref();

  /** Stops accepting; resolves when in-flight gRPC calls finished (or `graceMs` passed). */
  const closeListeners = (graceMs: number): Promise<void> => {
    listeners.tcp.forEach((s) => s.close());
    listeners.ws?.close();
    return listeners.grpc?.stop(graceMs) ?? Promise.resolve();
  };
  try {
    await openListeners(ctx, admission(ctx, sessions, () => draining), { metrics, store, isDraining: () => draining }, ports, listeners);
  } catch (err) {
    clearInterval(ticker);
    await closeListeners(0);
    listeners.ops?.close();
    await store.close();
    throw err;
  }
  await store.announce(info());
  log.info("relay started", { ports, workerUrl: config.workerUrl, store: store.kind, framing: config.tcp.map((l) => l.framing) });

  const stop = async (drainMs: number): Promise<void> => {
    draining = true;
    metrics.draining = 1;
    void store.announce(info());
    const grpcStopped = closeListeners(drainMs + config.closeGraceMs);
    log.info("relay draining", { connections: sessions.size, drainMs });
    await drainSessions(sessions, config, drainMs);
    clearInterval(ticker);
    await grpcStopped;
    await new Promise<void>((resolve) => (listeners.ops ? listeners.ops.close(() => resolve()) : resolve()));
    await store.close();
    log.info("relay stopped", { connections: sessions.size });
  };
  let stopping: Promise<void> | null = null;
  return {
    ports,
    config,
    metrics,
    store,
    connections: () => sessions.size,
    info,
    stop(options = {}) {
      stopping ??= stop(options.drainMs ?? 0);
      return stopping;
    },
  };
}
