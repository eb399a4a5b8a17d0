/** Every SQL statement of the UserInbox, as named functions over its SqlStorage. */
import { limitClause } from "../shared/sql-limit";

export interface StoredMessage {
  seq: number;
  body: ArrayBuffer;
}

export interface OutboxRow extends Record<string, SqlStorageValue> {
  id: number;
  target_user_id: number;
  msg_id: string;
  body: ArrayBuffer;
}

export interface ProfileRow extends Record<string, SqlStorageValue> {
  nickname: string;
  avatar_url: string;
  extra: string;
  loaded_at: number;
}

export interface TokenRow extends Record<string, SqlStorageValue> {
  token_hash: string;
  expires_at: number;
}

/** Rows per outbox delivery (at most one delivery per target is in flight). */
export const OUTBOX_BATCH_ROWS = 200;

export function createStatements(sql: SqlStorage) {
  return {
    lastSeq(): number {
      return sql.exec<{ seq: number }>("SELECT COALESCE(MAX(seq), 0) AS seq FROM messages").one().seq;
    },
    insertMessage(seq: number, msgId: string, body: Uint8Array, now: number): void {
      sql.exec("INSERT INTO messages (seq, msg_id, body, created_at) VALUES (?, ?, ?, ?)", seq, msgId, body, now);
    },
    /** Inserts unless a message with this msg_id is already here; true when inserted. */
    insertMessageIfNew(seq: number, msgId: string, body: Uint8Array, now: number): boolean {
      return (
        sql.exec("INSERT INTO messages (seq, msg_id, body, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (msg_id) DO NOTHING", seq, msgId, body, now)
          .rowsWritten > 0
      );
    },
    seqOfMessage(msgId: string): number | undefined {
      return sql.exec<{ seq: number }>("SELECT seq FROM messages WHERE msg_id = ?", msgId).toArray()[0]?.seq;
    },
    /** Up to `limit` messages after `seq`, in seq order. */
    messagesAfter(seq: number, limit: number): StoredMessage[] {
      return sql
        .exec<{ seq: number; body: ArrayBuffer }>(
          "SELECT seq, body FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
          seq,
          limit,
        )
        .toArray();
    },
    sentSeq(clientMsgId: string): number | undefined {
      return sql.exec<{ seq: number }>("SELECT seq FROM sent WHERE client_msg_id = ?", clientMsgId).toArray()[0]?.seq;
    },
    /** Records a send by client message id unless one is recorded; true when recorded now. */
    insertSentIfNew(clientMsgId: string, seq: number, now: number): boolean {
      return (
        sql.exec("INSERT INTO sent (client_msg_id, seq, created_at) VALUES (?, ?, ?) ON CONFLICT (client_msg_id) DO NOTHING", clientMsgId, seq, now)
          .rowsWritten > 0
      );
    },
    lastOutboxId(): number {
      return sql.exec<{ id: number }>("SELECT COALESCE(MAX(id), 0) AS id FROM outbox").one().id;
    },
    insertOutbox(id: number, targetUserId: number, msgId: string, body: Uint8Array): void {
      sql.exec("INSERT INTO outbox (id, target_user_id, msg_id, body) VALUES (?, ?, ?, ?)", id, targetUserId, msgId, body);
    },
    /** Up to OUTBOX_BATCH_ROWS rows of one target after `afterId`, in order. */
    outboxFor(targetUserId: number, afterId: number): OutboxRow[] {
      return sql
        .exec<OutboxRow>(
          `SELECT id, target_user_id, msg_id, body FROM outbox WHERE target_user_id = ? AND id > ? ORDER BY id ${limitClause(OUTBOX_BATCH_ROWS)}`,
          targetUserId,
          afterId,
        )
        .toArray();
    },
    outboxTargets(): number[] {
      return sql
        .exec<{ t: number }>("SELECT DISTINCT target_user_id AS t FROM outbox")
        .toArray()
        .map((row) => row.t);
    },
    /** Removes delivered rows of one target up to and including `lastId`. */
    deleteOutboxUpTo(targetUserId: number, lastId: number): void {
      sql.exec("DELETE FROM outbox WHERE target_user_id = ? AND id <= ?", targetUserId, lastId);
    },
    /** Moves a device's ack forward only: a lower value never moves it back. */
    advanceAck(deviceId: number, ack: number): void {
      sql.exec(
        "INSERT INTO device_acks (device_id, ack) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET ack = MAX(ack, excluded.ack)",
        deviceId,
        ack,
      );
    },
    ackOf(deviceId: number): number {
      return sql.exec<{ ack: number }>("SELECT ack FROM device_acks WHERE device_id = ?", deviceId).toArray()[0]?.ack ?? 0;
    },
    maxAck(): number {
      return sql.exec<{ ack: number }>("SELECT COALESCE(MAX(ack), 0) AS ack FROM device_acks").one().ack;
    },
    token(deviceId: number): TokenRow | undefined {
      return sql
        .exec<TokenRow>("SELECT token_hash, expires_at FROM device_tokens WHERE device_id = ?", deviceId)
        .toArray()[0];
    },
    /** Records a device of this user; a non-empty push id replaces the stored one. */
    upsertDevice(deviceId: number, brandPushId: string | null, now: number): void {
      sql.exec(
        "INSERT INTO devices (device_id, brand_push_id, updated_at) VALUES (?, COALESCE(?, ''), ?) ON CONFLICT (device_id) DO UPDATE SET brand_push_id = COALESCE(?, brand_push_id), updated_at = excluded.updated_at",
        deviceId,
        brandPushId,
        now,
        brandPushId,
      );
    },
    devices(): { device_id: number; brand_push_id: string }[] {
      return sql.exec<{ device_id: number; brand_push_id: string }>("SELECT device_id, brand_push_id FROM devices ORDER BY device_id").toArray();
    },
    isKnownUser(userId: number): boolean {
      return sql.exec("SELECT 1 FROM known_users WHERE user_id = ?", userId).toArray().length > 0;
    },
    addKnownUser(userId: number): void {
      sql.exec("INSERT INTO known_users (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING", userId);
    },
    ownProfile(): ProfileRow | undefined {
      return sql.exec<ProfileRow>("SELECT nickname, avatar_url, extra, loaded_at FROM own_profile WHERE id = 1").toArray()[0];
    },
    putOwnProfile(nickname: string, avatarUrl: string, extra: string, loadedAt: number): void {
      sql.exec(
        "INSERT INTO own_profile (id, nickname, avatar_url, extra, loaded_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET nickname = excluded.nickname, avatar_url = excluded.avatar_url, extra = excluded.extra, loaded_at = excluded.loaded_at",
        nickname,
        avatarUrl,
        extra,
        loadedAt,
      );
    },
    deleteOwnProfile(): void {
      sql.exec("DELETE FROM own_profile");
    },
    putToken(deviceId: number, tokenHash: string, expiresAt: number): void {
      sql.exec(
        "INSERT INTO device_tokens (device_id, token_hash, expires_at) VALUES (?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET token_hash = excluded.token_hash, expires_at = excluded.expires_at",
        deviceId,
        tokenHash,
        expiresAt,
      );
    },
  };
}

export type Statements = ReturnType<typeof createStatements>;
