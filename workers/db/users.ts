/** D1 queries on users (the built-in business's directory). */
import { pb } from "../../proto/gen/pb.js";

interface UserRow {
  id: number;
  nickname: string;
  sex: number;
  avatar_url: string;
  extra: string;
  create_time: number;
  update_time: number;
}

const USER_COLUMNS = "id, nickname, sex, avatar_url, extra, create_time, update_time";

export function toUser(row: UserRow): pb.IUser {
  return {
    userId: row.id,
    nickname: row.nickname,
    sex: row.sex,
    avatarUrl: row.avatar_url,
    extra: row.extra,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Whether a user with this id exists. */
export async function userExists(db: D1Database, userId: number): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS found FROM users WHERE id = ?").bind(userId).first()) !== null;
}

/** The user with this phone number, created on first use. */
export async function findOrCreateUser(db: D1Database, phoneNumber: string): Promise<{ userId: number; isNew: boolean }> {
  const now = nowSeconds();
  const created = await db
    .prepare("INSERT INTO users (phone_number, create_time, update_time) VALUES (?, ?, ?) ON CONFLICT (phone_number) DO NOTHING RETURNING id")
    .bind(phoneNumber, now, now)
    .first<{ id: number }>();
  if (created) {
    return { userId: created.id, isNew: true };
  }
  const existing = await db.prepare("SELECT id FROM users WHERE phone_number = ?").bind(phoneNumber).first<{ id: number }>();
  if (!existing) {
    throw new Error(`user with phone ${phoneNumber} vanished`);
  }
  return { userId: existing.id, isNew: false };
}

export async function getUser(db: D1Database, userId: number): Promise<pb.IUser | null> {
  const row = await db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).bind(userId).first<UserRow>();
  return row ? toUser(row) : null;
}

/** Profiles of several users, by id; missing ids are absent from the map. */
export async function getUsers(db: D1Database, userIds: readonly number[]): Promise<Map<number, pb.IUser>> {
  const users = new Map<number, pb.IUser>();
  // D1 binds at most 100 parameters per statement.
  for (let i = 0; i < userIds.length; i += 100) {
    const chunk = userIds.slice(i, i + 100);
    const { results } = await db
      .prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id IN (${chunk.map(() => "?").join(",")})`)
      .bind(...chunk)
      .all<UserRow>();
    for (const row of results) {
      users.set(row.id, toUser(row));
    }
  }
  return users;
}

export async function updateUser(db: D1Database, userId: number, req: pb.UpdateUserReq): Promise<void> {
  await db
    .prepare("UPDATE users SET nickname = ?, sex = ?, avatar_url = ?, extra = ?, update_time = ? WHERE id = ?")
    .bind(req.nickname, req.sex, req.avatarUrl, req.extra, nowSeconds(), userId)
    .run();
}

/** Users whose phone number or nickname contains `key`, by id, after `afterId`. */
export async function searchUsers(db: D1Database, key: string, afterId: number, limit: number): Promise<pb.IUser[]> {
  const pattern = `%${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { results } = await db
    .prepare(
      `SELECT ${USER_COLUMNS} FROM users WHERE id > ?2 AND (phone_number LIKE ?1 ESCAPE '\\' OR nickname LIKE ?1 ESCAPE '\\') ORDER BY id LIMIT ?3`,
    )
    .bind(pattern, afterId, limit)
    .all<UserRow>();
  return results.map(toUser);
}
