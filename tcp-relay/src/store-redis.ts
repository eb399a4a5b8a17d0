/**
 * The shared Store on Redis (ioredis). Keys, all under REDIS_PREFIX:
 *
 * | key | value | TTL |
 * |---|---|---|
 * | `rate:<kind>:<address>` | counter (INCR; the window starts at the first hit) | RATE_WINDOW_SECONDS |
 * | `device:<device_id>` | `<instance_id> <user_id>` | REGISTRY_TTL_SECONDS, refreshed at a third of it |
 * | `instance:<instance_id>` | JSON InstanceInfo | FLEET_TTL_SECONDS, announced at a third of it |
 * | `instances` | sorted set of instance ids, score = expiry (ms) | pruned on read |
 *
 * Every command fails open: a Redis outage never closes or refuses a client (counted in
 * gim_relay_redis_errors_total and logged at most every 10 s).
 */
import { Redis } from "ioredis";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import type { DeviceLocation, InstanceInfo, RateKind, Store } from "./store";

const SCRIPTS = {
  /** INCR; the first hit of a window sets its expiry. */
  gimRateHit: {
    numberOfKeys: 1,
    lua: "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
  },
  /** PEXPIRE each key whose value still names this instance (ARGV[1] = "<instance> "). */
  gimRefreshOwned: {
    numberOfKeys: -1,
    lua: "local n = 0 for _, k in ipairs(KEYS) do local v = redis.call('GET', k) if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) n = n + 1 end end return n",
  },
  /** DEL the key only if its value still names this instance (prefix) and connection (suffix). */
  gimReleaseOwned: {
    numberOfKeys: 1,
    lua: "local v = redis.call('GET', KEYS[1]) if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] and string.sub(v, -#ARGV[2]) == ARGV[2] then return redis.call('DEL', KEYS[1]) end return 0",
  },
} as const;

interface Scripts {
  gimRateHit(key: string, windowMs: number): Promise<number>;
  gimRefreshOwned(numKeys: number, ...args: (string | number)[]): Promise<number>;
  gimReleaseOwned(key: string, owner: string, holderSuffix: string): Promise<number>;
}

const REFRESH_BATCH = 500;
const WARN_EVERY_MS = 10_000;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  instanceId: string;
  rateWindowMs: number;
  registryTtlMs: number;
  fleetTtlMs: number;
  log: Logger;
  metrics: Metrics;
}

export class RedisStore implements Store {
  readonly kind = "redis";
  readonly #redis: Redis & Scripts;
  readonly #owner: string;
  #warnedAt = 0;

  private constructor(
    redis: Redis,
    readonly options: RedisStoreOptions,
  ) {
    for (const [name, { numberOfKeys, lua }] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { numberOfKeys: numberOfKeys < 0 ? undefined : numberOfKeys, lua });
    }
    this.#redis = redis as Redis & Scripts;
    this.#owner = `${options.instanceId} `;
  }

  /** Connects and checks the server answers. @throws Error when Redis cannot be reached. */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, commandTimeout: 2_000 });
    redis.on("error", () => {
      // Reported per failed command (#failed); ioredis reconnects by itself.
    });
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at REDIS_URL: ${(err as Error).message}`);
    }
    return new RedisStore(redis, options);
  }

  async hit(kind: RateKind, address: string): Promise<number> {
    return this.#failOpen(() => this.#redis.gimRateHit(this.#key(`rate:${kind}:${address}`), this.options.rateWindowMs), 0);
  }

  async count(kind: RateKind, address: string): Promise<number> {
    return this.#failOpen(async () => Number((await this.#redis.get(this.#key(`rate:${kind}:${address}`))) ?? 0), 0);
  }

  async registerDevice(deviceId: number, userId: number, holder: string): Promise<void> {
    await this.#failOpen(() => this.#redis.set(this.#key(`device:${deviceId}`), this.#entry(userId, holder), "PX", this.options.registryTtlMs), null);
  }

  async releaseDevice(deviceId: number, holder: string): Promise<void> {
    await this.#failOpen(() => this.#redis.gimReleaseOwned(this.#key(`device:${deviceId}`), this.#owner, ` ${holder}`), 0);
  }

  /** A registry entry: "<instance id> <user id> <holder>" (lookups read the first two). */
  #entry(userId: number, holder: string): string {
    return `${this.#owner}${userId} ${holder}`;
  }

  async refreshDevices(deviceIds: number[]): Promise<void> {
    for (let i = 0; i < deviceIds.length; i += REFRESH_BATCH) {
      const keys = deviceIds.slice(i, i + REFRESH_BATCH).map((id) => this.#key(`device:${id}`));
      await this.#failOpen(() => this.#redis.gimRefreshOwned(keys.length, ...keys, this.#owner, this.options.registryTtlMs), 0);
    }
  }

  async lookupDevice(deviceId: number): Promise<DeviceLocation | null> {
    const value = await this.#failOpen(() => this.#redis.get(this.#key(`device:${deviceId}`)), null);
    if (!value) {
      return null;
    }
    const [instanceId = "", userId] = value.split(" ");
    return { instanceId, userId: Number(userId) };
  }

  async announce(info: InstanceInfo): Promise<void> {
    const expiresAt = Date.now() + this.options.fleetTtlMs;
    await this.#failOpen(
      () =>
        this.#redis
          .multi()
          .set(this.#key(`instance:${info.id}`), JSON.stringify(info), "PX", this.options.fleetTtlMs)
          .zadd(this.#key("instances"), expiresAt, info.id)
          .exec(),
      null,
    );
  }

  async fleet(): Promise<InstanceInfo[]> {
    return this.#failOpen(async () => {
      const set = this.#key("instances");
      await this.#redis.zremrangebyscore(set, "-inf", String(Date.now()));
      const ids = await this.#redis.zrange(set, "0", "-1");
      if (ids.length === 0) {
        return [];
      }
      const values = await this.#redis.mget(ids.map((id) => this.#key(`instance:${id}`)));
      return values.flatMap((v) => (v ? [JSON.parse(v) as InstanceInfo] : []));
    }, []);
  }

  async close(): Promise<void> {
    const id = this.options.instanceId;
    await this.#failOpen(() => this.#redis.multi().del(this.#key(`instance:${id}`)).zrem(this.#key("instances"), id).exec(), null);
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #key(name: string): string {
    return `${this.options.prefix}${name}`;
  }

  async #failOpen<T>(run: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.options.metrics.redisErrors++;
      const now = Date.now();
      if (now - this.#warnedAt > WARN_EVERY_MS) {
        this.#warnedAt = now;
        this.options.log.warn("redis command failed; failing open", { err });
      }
      return fallback;
    }
  }
}
