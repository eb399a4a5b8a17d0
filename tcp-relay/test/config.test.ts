import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULTS, loadConfig, resolveConfig } from "../src/config";

describe("configuration", () => {
  it("reads the environment with defaults", () => {
    const config = loadConfig({ WORKER_URL: "http://127.0.0.1:8787/", TCP_VARINT_PORT: "8082", WS_PORT: "off", IDLE_TIMEOUT_SECONDS: "60", REDIS_URL: "redis://127.0.0.1:6379" });
    expect(config.workerUrl).toBe("http://127.0.0.1:8787");
    expect(config.tcp).toEqual([
      { port: 8080, framing: "u16" },
      { port: 8082, framing: "varint" },
    ]);
    expect(config.wsPort).toBeNull();
    expect(config.grpcPort).toBe(50051);
    expect(config.idleTimeoutMs).toBe(60_000);
    expect(config.maxFrameBytes).toBe(DEFAULTS.maxFrameBytes);
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
  });

  it("lists every problem at once", () => {
    let error: unknown;
    try {
      loadConfig({ TCP_FRAMING: "json", MAX_FRAME_BYTES: "big", GRPC_PORT: "70000", REDIS_URL: "localhost:6379", LOG_LEVEL: "loud" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/WORKER_URL is required/);
    expect(problems).toMatch(/TCP_FRAMING must be u16 or varint, got json/);
    expect(problems).toMatch(/MAX_FRAME_BYTES must be a number in 64..16777216, got big/);
    expect(problems).toMatch(/GRPC_PORT must be a port/);
    expect(problems).toMatch(/REDIS_URL must start with redis:\/\//);
    expect(problems).toMatch(/LOG_LEVEL must be one of/);
  });

  it("refuses a configuration with no listener and inconsistent buffer limits", () => {
    expect(() => resolveConfig({ workerUrl: "http://x", tcp: [], wsPort: null, grpcPort: null })).toThrow(/no listener/);
    expect(() => resolveConfig({ workerUrl: "http://x", slowConsumerBytes: 1 << 20, maxBufferedBytes: 1 << 16 })).toThrow(/SLOW_CONSUMER_BYTES/);
  });
});
