// Options, waits, statistics and logging shared by the benchmarks.
import { performance } from "node:perf_hooks";

// ---------------------------------------------------------------- options

/**
 * Parses `--name value`, `--name=value` and bare `--flag` (true). `spec` maps option names to
 * defaults; the type of the default (number, boolean, string) decides how a value is read.
 */
export function parseArgs(spec, argv = process.argv.slice(2), usage = "") {
  const out = { ...spec };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      console.log(usage || `options: ${Object.keys(spec).map((k) => `--${k}`).join(" ")}`);
      process.exit(0);
    }
    if (!arg.startsWith("--")) {
      throw new Error(`unexpected argument ${arg}`);
    }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    if (!(name in spec)) {
      throw new Error(`unknown option --${name}${usage ? `\n${usage}` : ""}`);
    }
    const kind = typeof spec[name];
    if (value === undefined) {
      if (kind === "boolean") {
        value = "true";
      } else {
        value = argv[++i];
        if (value === undefined) {
          throw new Error(`--${name} needs a value`);
        }
      }
    }
    if (kind === "number") {
      const n = Number(value);
      if (!Number.isFinite(n)) {
        throw new Error(`--${name} must be a number`);
      }
      out[name] = n;
    } else if (kind === "boolean") {
      out[name] = value !== "false" && value !== "0";
    } else {
      out[name] = value;
    }
  }
  return out;
}

// ---------------------------------------------------------------- small utilities

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const now = () => performance.now();

/** Runs `fn(item, index)` over `items` with at most `limit` calls in flight; rejects on the first error. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed = null;
  async function worker() {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) {
    throw failed;
  }
  return results;
}

/** Waits until `cond()` is true, checking every `stepMs`; false when `timeoutMs` passed first. */
export async function waitFor(cond, timeoutMs, stepMs = 50) {
  const deadline = now() + timeoutMs;
  while (!cond()) {
    if (now() >= deadline) {
      return false;
    }
    await sleep(stepMs);
  }
  return true;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return NaN;
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** p50/p95/p99/max of an array of numbers (sorted in place as a Float64Array copy). */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

export const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

export function log(...args) {
  const t = new Date().toISOString().slice(11, 23);
  console.error(`[${t}]`, ...args);
}

/** A unique 17-digit prefix for phone numbers of this run (the server keys users by phone). */
export function phonePrefix() {
  const time = String(Date.now() % 1e9).padStart(9, "0");
  const rand = String(Math.floor(Math.random() * 100)).padStart(2, "0");
  return `${time}${rand}`;
}
