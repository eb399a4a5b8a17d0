/** Writes a group's D1 directory rows (groups, group_members) from the object's own state. */
import type { InfoRow, MemberRow } from "./statements";

const toSeconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * Rewrites the rows of the given users (0 = the group row) in one D1 batch: present members are
 * upserted, everyone else deleted; a dissolved group loses every row. Idempotent.
 */
export async function writeMirror(db: D1Database, info: InfoRow, activeMembers: ReadonlyMap<number, MemberRow>, userIds: readonly number[]): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  const dissolved = info.dissolved_at > 0;
  for (const userId of userIds) {
    if (userId === 0) {
      statements.push(
        dissolved
          ? db.prepare("DELETE FROM groups WHERE id = ?").bind(info.group_id)
          : db
              .prepare(
                `INSERT INTO groups (id, name, avatar_url, introduction, extra, owner_id, user_num, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, avatar_url = excluded.avatar_url, introduction = excluded.introduction,
                 extra = excluded.extra, owner_id = excluded.owner_id, user_num = excluded.user_num, update_time = excluded.update_time`,
              )
              .bind(info.group_id, info.name, info.avatar_url, info.introduction, info.extra, info.owner_id, activeMembers.size, toSeconds(info.created_at), toSeconds(info.updated_at)),
      );
      continue;
    }
    const member = dissolved ? undefined : activeMembers.get(userId);
    statements.push(
      member
        ? db
            .prepare(
              `INSERT INTO group_members (group_id, user_id, member_type, remarks, extra, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (group_id, user_id) DO UPDATE SET member_type = excluded.member_type, remarks = excluded.remarks, extra = excluded.extra, update_time = excluded.update_time`,
            )
            .bind(info.group_id, userId, member.member_type, member.remarks, member.extra, toSeconds(member.joined_at), toSeconds(Date.now()))
        : db.prepare("DELETE FROM group_members WHERE group_id = ? AND user_id = ?").bind(info.group_id, userId),
    );
  }
  // D1 runs a batch as one transaction; keep batches to a size it handles quickly.
  for (let i = 0; i < statements.length; i += 500) {
    await db.batch(statements.slice(i, i + 500));
  }
}
