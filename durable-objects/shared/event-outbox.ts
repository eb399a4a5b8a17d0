/**
 * Event webhooks, delivered durably from the object that owns the events: rows are written in the
 * same transaction as what they describe, posted in order in signed batches, retried by the
 * object's alarm with backoff, at least once, each with a stable id for dedup. Posting never
 * sits on the path of message delivery.
 */
import { signatureHeaders, verifySignature } from "../../workers/business/signing";
import type { Env } from "../../workers/env";
import type { Migration } from "./migrate";
import { limitClause } from "./sql-limit";

/** The events table; each object that emits events adds it to its own migrations. */
export const EVENTS_TABLE_SQL = `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,                -- the event as JSON, its id included
    created_at INTEGER NOT NULL
  );
`;

export function eventsMigration(id: number): Migration {
  return { id, name: "events", sql: EVENTS_TABLE_SQL };
}

const BATCH = 100;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 5 * 60_000;
/** Events that could not be delivered for this long are dropped (with a log line). */
const RETENTION_MS = 24 * 3_600_000;
const TIMEOUT_MS = 5_000;

export interface EventsConfig {
  url: string;
  secret: string;
}

let warnedNoSecret = false;

export function eventsConfig(env: Env): EventsConfig | null {
  const secret = env.EVENTS_SECRET || env.BUSINESS_SECRET;
  if (env.EVENTS_URL && !secret && !warnedNoSecret) {
    warnedNoSecret = true;
    console.warn("events: EVENTS_URL is set without EVENTS_SECRET or BUSINESS_SECRET; no events are recorded");
  }
  return env.EVENTS_URL && secret ? { url: env.EVENTS_URL, secret } : null;
}

export class EventOutbox {
  readonly #sql: SqlStorage;
  readonly #config: EventsConfig | null;
  readonly #idPrefix: string;
  readonly #arm: (at: number) => void;
  #flushing: Promise<boolean> | null = null;
  #retryDelay = RETRY_MIN_MS;
  /** After a failed post, kick() waits until then; the alarm retries (so backoff holds under load). */
  #retryAt = 0;

  /** `idPrefix` makes event ids unique across objects (e.g. "u42", "g7"). */
  constructor(sql: SqlStorage, config: EventsConfig | null, idPrefix: string, arm: (at: number) => void) {
    this.#sql = sql;
    this.#config = config;
    this.#idPrefix = idPrefix;
    this.#arm = arm;
  }

  get enabled(): boolean {
    return this.#config !== null;
  }

  /** Records an event; call inside the transaction that makes it true. No-op without EVENTS_URL. */
  add(type: string, data: Record<string, unknown>): void {
    if (!this.#config) {
      return;
    }
    const now = Date.now();
    const cursor = this.#sql.exec("INSERT INTO events (body, created_at) VALUES ('', ?) RETURNING id", now);
    const id = (cursor.one() as { id: number }).id;
    const body = JSON.stringify({ id: `${this.#idPrefix}:${id}`, type, at: now, ...data });
    this.#sql.exec("UPDATE events SET body = ? WHERE id = ?", body, id);
  }

  /**
   * Starts posting pending events unless a post is on its way or, after a failure, the retry's
   * time has not come (the alarm posts then): writes keep kicking, and must not undo the backoff.
   */
  kick(): void {
    if (Date.now() >= this.#retryAt) {
      this.#start();
    }
  }

  /** Posts everything pending now; resolves true when nothing is left (used by alarm()). */
  async flush(): Promise<boolean> {
    this.#start();
    return (await this.#flushing) ?? true;
  }

  #start(): void {
    if (this.#config && !this.#flushing) {
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null;
      });
    }
  }

  async #flush(): Promise<boolean> {
    const config = this.#config;
    if (!config) {
      return true;
    }
    const expired = this.#sql.exec("DELETE FROM events WHERE created_at < ?", Date.now() - RETENTION_MS).rowsWritten;
    if (expired > 0) {
      console.warn(`events: ${expired} events of ${this.#idPrefix} were not delivered within ${RETENTION_MS / 3_600_000} h; dropped`);
    }
    for (;;) {
      const rows = this.#sql.exec<{ id: number; body: string }>(`SELECT id, body FROM events ORDER BY id ${limitClause(BATCH)}`).toArray();
      const last = rows.at(-1);
      if (!last) {
        this.#retryDelay = RETRY_MIN_MS;
        this.#retryAt = 0;
        return true;
      }
      if (!(await this.#post(config, `{"events":[${rows.map((r) => r.body).join(",")}]}`))) {
        this.#retryAt = Date.now() + this.#retryDelay;
        this.#arm(this.#retryAt);
        this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
        return false;
      }
      this.#sql.exec("DELETE FROM events WHERE id <= ?", last.id);
    }
  }

  /** True when the endpoint took the batch: a 2xx answer signed with the shared secret. */
  async #post(config: EventsConfig, json: string): Promise<boolean> {
    const body = new TextEncoder().encode(json);
    try {
      const res = await fetch(config.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await signatureHeaders(config.secret, body)) },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const answer = new Uint8Array(await res.arrayBuffer());
      if (!res.ok || !(await verifySignature(config.secret, res.headers, answer))) {
        console.warn(`events: ${config.url} answered ${res.status}${res.ok ? " without a valid signature" : ""}; will retry`);
        return false;
      }
      return true;
    } catch (err) {
      console.warn(`events: ${config.url} unreachable; will retry`, err);
      return false;
    }
  }
}
