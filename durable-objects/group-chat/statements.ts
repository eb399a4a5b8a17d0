/** Every SQL statement of the GroupChat, as named functions over its SqlStorage. */
import { limitClause } from "../shared/sql-limit";

export interface InfoRow extends Record<string, SqlStorageValue> {
  group_id: number;
  name: string;
  avatar_url: string;
  introduction: string;
  extra: string;
  owner_id: number;
  created_at: number;
  updated_at: number;
  dissolved_at: number;
}

export interface MemberRow extends Record<string, SqlStorageValue> {
  user_id: number;
  member_type: number;
  remarks: string;
  extra: string;
  joined_at: number;
  cursor: number;
  until_gseq: number | null;
}

export interface LogRow extends Record<string, SqlStorageValue> {
  gseq: number;
  msg_id: string;
  body: ArrayBuffer;
  sender_id: number;
  sender_device_id: number;
}

export function createStatements(sql: SqlStorage) {
  return {
    info(): InfoRow | undefined {
      return sql.exec<InfoRow>("SELECT * FROM info WHERE id = 1").toArray()[0];
    },
    insertInfo(row: Omit<InfoRow, "dissolved_at">): void {
      sql.exec(
        "INSERT INTO info (id, group_id, name, avatar_url, introduction, extra, owner_id, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
        row.group_id, row.name, row.avatar_url, row.introduction, row.extra, row.owner_id, row.created_at, row.updated_at,
      );
    },
    updateInfo(name: string, avatarUrl: string, introduction: string, extra: string, now: number): void {
      sql.exec("UPDATE info SET name = ?, avatar_url = ?, introduction = ?, extra = ?, updated_at = ? WHERE id = 1", name, avatarUrl, introduction, extra, now);
    },
    setOwner(ownerId: number, now: number): void {
      sql.exec("UPDATE info SET owner_id = ?, updated_at = ? WHERE id = 1", ownerId, now);
    },
    dissolve(now: number): void {
      sql.exec("UPDATE info SET dissolved_at = ?, updated_at = ? WHERE id = 1", now, now);
    },
    head(): number {
      return sql.exec<{ g: number }>("SELECT COALESCE(MAX(gseq), 0) AS g FROM log").one().g;
    },
    /** Every member row, removed members still draining included. */
    allMembers(): MemberRow[] {
      return sql.exec<MemberRow>("SELECT * FROM members ORDER BY joined_at, user_id").toArray();
    },
    insertMember(userId: number, memberType: number, now: number, cursor: number): void {
      sql.exec(
        "INSERT INTO members (user_id, member_type, joined_at, cursor) VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET member_type = excluded.member_type, joined_at = excluded.joined_at, cursor = MAX(cursor, excluded.cursor), until_gseq = NULL, remarks = '', extra = ''",
        userId, memberType, now, cursor,
      );
    },
    updateMember(userId: number, memberType: number, remarks: string, extra: string): void {
      sql.exec("UPDATE members SET member_type = ?, remarks = ?, extra = ? WHERE user_id = ?", memberType, remarks, extra, userId);
    },
    endMembership(userId: number, untilGseq: number): void {
      sql.exec("UPDATE members SET until_gseq = ? WHERE user_id = ?", untilGseq, userId);
    },
    deleteMember(userId: number): void {
      sql.exec("DELETE FROM members WHERE user_id = ?", userId);
    },
    saveCursor(userId: number, cursor: number): void {
      sql.exec("UPDATE members SET cursor = MAX(cursor, ?) WHERE user_id = ?", cursor, userId);
    },
    appendLog(gseq: number, msgId: string, body: Uint8Array, senderId: number, senderDeviceId: number, now: number): void {
      sql.exec("INSERT INTO log (gseq, msg_id, body, sender_id, sender_device_id, created_at) VALUES (?, ?, ?, ?, ?, ?)", gseq, msgId, body, senderId, senderDeviceId, now);
    },
    logRange(afterGseq: number, upToGseq: number, limit: number): LogRow[] {
      return sql
        .exec<LogRow>(`SELECT gseq, msg_id, body, sender_id, sender_device_id FROM log WHERE gseq > ? AND gseq <= ? ORDER BY gseq ${limitClause(limit)}`, afterGseq, upToGseq)
        .toArray();
    },
    /** Drops log rows every member has applied. */
    /**
     * Deletes log rows up to `upToGseq`, but never the last one: the head (the highest group seq
     * given out) is read back from the log after a restart, and a head that went back would give
     * new messages the ids of old ones.
     */
    pruneLog(upToGseq: number): void {
      sql.exec("DELETE FROM log WHERE gseq <= ? AND gseq < (SELECT MAX(gseq) FROM log)", upToGseq);
    },
    sentGseq(senderId: number, clientMsgId: string): number | undefined {
      return sql.exec<{ gseq: number }>("SELECT gseq FROM sent WHERE sender_id = ? AND client_msg_id = ?", senderId, clientMsgId).toArray()[0]?.gseq;
    },
    /** Forgets send records older than `beforeGseq` (a full scan: run it seldom). */
    pruneSent(beforeGseq: number): void {
      sql.exec("DELETE FROM sent WHERE gseq < ?", beforeGseq);
    },
    insertSent(senderId: number, clientMsgId: string, gseq: number): void {
      sql.exec("INSERT INTO sent (sender_id, client_msg_id, gseq) VALUES (?, ?, ?)", senderId, clientMsgId, gseq);
    },
    markMirrorDirty(userIds: readonly number[]): void {
      for (const userId of userIds) {
        sql.exec("INSERT INTO mirror_dirty (user_id) VALUES (?) ON CONFLICT DO NOTHING", userId);
      }
    },
    mirrorDirty(): number[] {
      return sql.exec<{ user_id: number }>("SELECT user_id FROM mirror_dirty").toArray().map((r) => r.user_id);
    },
    clearMirrorDirty(userIds: readonly number[]): void {
      for (const userId of userIds) {
        sql.exec("DELETE FROM mirror_dirty WHERE user_id = ?", userId);
      }
    },
  };
}

export type Statements = ReturnType<typeof createStatements>;
