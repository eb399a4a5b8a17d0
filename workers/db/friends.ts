/** D1 queries on friends: one row per direction; status 0 = requested, 1 = agreed. */
export const FriendStatus = { REQUESTED: 0, AGREED: 1 } as const;

export interface FriendRow {
  user_id: number;
  friend_id: number;
  remarks: string;
  extra: string;
  description: string;
  status: number;
  create_time: number;
  /** When (ms) this request or friendship began; names its notifications. */
  request_ms: number;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function getFriendRow(db: D1Database, userId: number, friendId: number): Promise<FriendRow | null> {
  return db.prepare("SELECT * FROM friends WHERE user_id = ? AND friend_id = ?").bind(userId, friendId).first<FriendRow>();
}

/** Records a request; resolves the row as stored (an earlier one when it existed). */
export async function insertRequest(db: D1Database, userId: number, friendId: number, remarks: string, description: string): Promise<FriendRow> {
  const now = Date.now();
  await db
    .prepare(
      "INSERT INTO friends (user_id, friend_id, remarks, description, status, create_time, update_time, request_ms) VALUES (?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT (user_id, friend_id) DO NOTHING",
    )
    .bind(userId, friendId, remarks, description, Math.floor(now / 1000), Math.floor(now / 1000), now)
    .run();
  return (await getFriendRow(db, userId, friendId)) as FriendRow;
}

/**
 * Makes both directions agreed in one batch: the requester's row and the accepter's own row
 * (created, or updated when the accepter had also asked: gim failed on that unique key).
 */
export async function agree(db: D1Database, requesterId: number, accepterId: number, accepterRemarks: string): Promise<void> {
  const now = Date.now();
  await db.batch([
    db.prepare("UPDATE friends SET status = 1, update_time = ? WHERE user_id = ? AND friend_id = ?").bind(Math.floor(now / 1000), requesterId, accepterId),
    db
      .prepare(
        "INSERT INTO friends (user_id, friend_id, remarks, status, create_time, update_time, request_ms) VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (user_id, friend_id) DO UPDATE SET status = 1, remarks = excluded.remarks, update_time = excluded.update_time",
      )
      .bind(accepterId, requesterId, accepterRemarks, Math.floor(now / 1000), Math.floor(now / 1000), now),
  ]);
}

/** Deletes the pending request from `requesterId` to `targetId`, if there is one. */
export async function deleteRequest(db: D1Database, requesterId: number, targetId: number): Promise<void> {
  await db.prepare("DELETE FROM friends WHERE user_id = ? AND friend_id = ? AND status = 0").bind(requesterId, targetId).run();
}

/** Deletes both directions of a friendship, and nothing when the two are not friends. */
export async function deleteFriendship(db: D1Database, userId: number, friendId: number): Promise<void> {
  await db.batch([
    db
      .prepare(
        "DELETE FROM friends WHERE user_id = ? AND friend_id = ? AND EXISTS (SELECT 1 FROM friends WHERE user_id = ? AND friend_id = ? AND status = 1)",
      )
      .bind(friendId, userId, userId, friendId),
    db.prepare("DELETE FROM friends WHERE user_id = ? AND friend_id = ? AND status = 1").bind(userId, friendId),
  ]);
}

export async function setFriend(db: D1Database, userId: number, friendId: number, remarks: string, extra: string): Promise<boolean> {
  const result = await db
    .prepare("UPDATE friends SET remarks = ?, extra = ?, update_time = ? WHERE user_id = ? AND friend_id = ? AND status = 1")
    .bind(remarks, extra, nowSeconds(), userId, friendId)
    .run();
  return result.meta.changes > 0;
}

/** The caller's friends (agreed rows), by friend id. */
export async function listFriendRows(db: D1Database, userId: number): Promise<FriendRow[]> {
  const { results } = await db.prepare("SELECT * FROM friends WHERE user_id = ? AND status = 1 ORDER BY friend_id").bind(userId).all<FriendRow>();
  return results;
}

/** Pending requests addressed to `userId`, oldest first. */
export async function listRequestRows(db: D1Database, userId: number): Promise<FriendRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM friends WHERE friend_id = ? AND status = 0 ORDER BY create_time, user_id")
    .bind(userId)
    .all<FriendRow>();
  return results;
}
