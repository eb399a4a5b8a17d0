/**
 * What spans relay instances, never touched per frame: the device registry (which instance
 * holds which device, with a TTL), fleet membership and counts, and per-address rate limits.
 * `MemoryStore` is the single-instance form; `RedisStore` (store-redis.ts) shares it.
 */

export type RateKind = "conn" | "signin-fail";

export interface DeviceLocation {
  instanceId: string;
  userId: number;
}

export interface InstanceInfo {
  id: string;
  startedAt: number;
  updatedAt: number;
  draining: boolean;
  /** Open client connections by listener. */
  connections: Record<string, number>;
  /** Signed-in devices held. */
  devices: number;
  ports: Record<string, unknown>;
}

export interface Store {
  readonly kind: "memory" | "redis";
  /** Counts one event for `address` in the current window; resolves the count including it. Fails open (0). */
  hit(kind: RateKind, address: string): Promise<number>;
  /** Events counted for `address` in the current window. Fails open (0). */
  count(kind: RateKind, address: string): Promise<number>;
  /**
   * Records that this instance holds `deviceId` (on a successful sign-in). `holder` names the
   * connection, so that only the connection that wrote the entry can release it.
   */
  registerDevice(deviceId: number, userId: number, holder: string): Promise<void>;
  /**
   * Forgets the device if this connection still holds it: a newer connection of the same device,
   * on this instance or another, may have taken it over.
   */
  releaseDevice(deviceId: number, holder: string): Promise<void>;
  /** Extends the TTL of devices this instance still holds (a few times per TTL, in batches). */
  refreshDevices(deviceIds: number[]): Promise<void>;
  lookupDevice(deviceId: number): Promise<DeviceLocation | null>;
  /** Publishes this instance's membership and counts with a TTL. */
  announce(info: InstanceInfo): Promise<void>;
  /** Live instances, this one included. */
  fleet(): Promise<InstanceInfo[]>;
  /** Leaves the fleet and releases resources. */
  close(): Promise<void>;
}

interface Window {
  startedAt: number;
  count: number;
}

/** Single instance: the same features in this process's memory. */
export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly #windows = new Map<string, Window>();
  readonly #devices = new Map<number, DeviceLocation & { holder: string; expiresAt: number }>();
  #self: InstanceInfo | null = null;
  #prunedAt = Date.now();

  constructor(
    readonly instanceId: string,
    readonly rateWindowMs: number,
    readonly registryTtlMs: number,
    readonly now: () => number = Date.now,
  ) {}

  async hit(kind: RateKind, address: string): Promise<number> {
    const now = this.now();
    this.#prune(now);
    const key = `${kind}:${address}`;
    let window = this.#windows.get(key);
    if (!window || now - window.startedAt >= this.rateWindowMs) {
      window = { startedAt: now, count: 0 };
      this.#windows.set(key, window);
    }
    return ++window.count;
  }

  async count(kind: RateKind, address: string): Promise<number> {
    const window = this.#windows.get(`${kind}:${address}`);
    return window && this.now() - window.startedAt < this.rateWindowMs ? window.count : 0;
  }

  async registerDevice(deviceId: number, userId: number, holder: string): Promise<void> {
    this.#devices.set(deviceId, { instanceId: this.instanceId, userId, holder, expiresAt: this.now() + this.registryTtlMs });
  }

  async releaseDevice(deviceId: number, holder: string): Promise<void> {
    if (this.#devices.get(deviceId)?.holder === holder) {
      this.#devices.delete(deviceId);
    }
  }

  async refreshDevices(deviceIds: number[]): Promise<void> {
    const expiresAt = this.now() + this.registryTtlMs;
    for (const id of deviceIds) {
      const entry = this.#devices.get(id);
      if (entry) {
        entry.expiresAt = expiresAt;
      }
    }
  }

  async lookupDevice(deviceId: number): Promise<DeviceLocation | null> {
    const entry = this.#devices.get(deviceId);
    return entry && entry.expiresAt > this.now() ? { instanceId: entry.instanceId, userId: entry.userId } : null;
  }

  async announce(info: InstanceInfo): Promise<void> {
    this.#self = info;
  }

  async fleet(): Promise<InstanceInfo[]> {
    return this.#self ? [this.#self] : [];
  }

  async close(): Promise<void> {
    this.#self = null;
  }

  /** Drops expired windows and devices, at most once per window. */
  #prune(now: number): void {
    if (now - this.#prunedAt < this.rateWindowMs) {
      return;
    }
    this.#prunedAt = now;
    for (const [key, window] of this.#windows) {
      if (now - window.startedAt >= this.rateWindowMs) {
        this.#windows.delete(key);
      }
    }
    for (const [id, entry] of this.#devices) {
      if (entry.expiresAt <= now) {
        this.#devices.delete(id);
      }
    }
  }
}
