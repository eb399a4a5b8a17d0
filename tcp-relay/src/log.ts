/** Structured logs: one JSON object per line on stdout (errors on stderr). Never per frame. */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

type Sink = (level: LogLevel, line: string) => void;

const defaultSink: Sink = (level, line) => (level === "error" ? process.stderr : process.stdout).write(`${line}\n`);

function serialize(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/**
 * @param base fields added to every line (e.g. the instance id)
 * @param sink where lines go (tests capture them)
 */
export function createLogger(level: LogLevel, base: Fields = {}, sink: Sink = defaultSink): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Fields) => {
    if (RANK[lvl] < min) {
      return;
    }
    const record: Fields = { ts: new Date().toISOString(), level: lvl, msg, ...base };
    for (const [key, value] of Object.entries(fields ?? {})) {
      record[key] = serialize(value);
    }
    sink(lvl, JSON.stringify(record));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}

/**
 * A warning at most once per `intervalMs` per key, with how many were suppressed meanwhile (an
 * outage of the Worker must not write one line per reconnecting client).
 */
export function throttledWarn(log: Logger, intervalMs: number): (key: string, msg: string, fields?: Fields) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, msg, fields) => {
    const now = Date.now();
    const entry = last.get(key);
    if (entry && now - entry.at < intervalMs) {
      entry.suppressed++;
      return;
    }
    log.warn(msg, { ...fields, ...(entry?.suppressed ? { suppressed: entry.suppressed } : {}) });
    last.set(key, { at: now, suppressed: 0 });
  };
}
