/** D1 queries on the group directory (mirrored by each GroupChat object). */
import { pb } from "../../proto/gen/pb.js";

interface GroupRow {
  id: number;
  name: string;
  avatar_url: string;
  introduction: string;
  extra: string;
  owner_id: number;
  user_num: number;
  create_time: number;
  update_time: number;
}

/** Whether a group with this id exists (reserved or created, not dissolved). */
export async function groupExists(db: D1Database, groupId: number): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS found FROM groups WHERE id = ?").bind(groupId).first()) !== null;
}

/** Reserves a group id; the GroupChat object fills the row in when it is created. */
export async function reserveGroupId(db: D1Database, name: string, ownerId: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const row = await db
    .prepare("INSERT INTO groups (name, owner_id, create_time, update_time) VALUES (?, ?, ?, ?) RETURNING id")
    .bind(name, ownerId, now, now)
    .first<{ id: number }>();
  if (!row) {
    throw new Error("group insert returned no id");
  }
  return row.id;
}

/** The groups a user is in (gim's GetGroups). */
export async function listUserGroups(db: D1Database, userId: number): Promise<pb.IGroup[]> {
  const { results } = await db
    .prepare("SELECT g.* FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.id")
    .bind(userId)
    .all<GroupRow>();
  return results.map((g) => ({
    groupId: g.id,
    name: g.name,
    avatarUrl: g.avatar_url,
    introduction: g.introduction,
    extra: g.extra,
    userMum: g.user_num,
    createTime: g.create_time,
    updateTime: g.update_time,
    ownerId: g.owner_id,
  }));
}
