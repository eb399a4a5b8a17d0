/**
 * Presence: which users have a connected device, sharded by user id, so that a push to
 * everyone (gim's PushAll) reaches every connected device without scanning every user.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../workers/env";
import { userInbox } from "../../workers/stubs";
import { migrate } from "../shared/migrate";

const PUSH_CONCURRENCY = 64;

export class Presence extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrate(this.#sql, [{ id: 1, name: "online", sql: "CREATE TABLE online (user_id INTEGER PRIMARY KEY, since INTEGER NOT NULL)" }]);
  }

  /** The user's first device connected. */
  online(userId: number): void {
    this.#sql.exec("INSERT INTO online (user_id, since) VALUES (?, ?) ON CONFLICT DO NOTHING", userId, Date.now());
  }

  /** The user's last device disconnected. */
  offline(userId: number): void {
    this.#sql.exec("DELETE FROM online WHERE user_id = ?", userId);
  }

  /** Pushes a transient message to every connected device of every user in this shard. */
  async pushAll(body: Uint8Array): Promise<number> {
    const users = this.#sql.exec<{ user_id: number }>("SELECT user_id FROM online").toArray().map((row) => row.user_id);
    for (let i = 0; i < users.length; i += PUSH_CONCURRENCY) {
      await Promise.all(
        users.slice(i, i + PUSH_CONCURRENCY).map((userId) =>
          userInbox(this.env, userId)
            .pushTransient(body)
            .catch((err: unknown) => console.warn(`Presence: push to user ${userId} failed`, err)),
        ),
      );
    }
    return users.length;
  }
}
