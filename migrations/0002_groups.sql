-- The group directory, mirrored from each GroupChat Durable Object (the source of truth for
-- members and order) so that "my groups" and member lists can be queried. Times in unix seconds.
CREATE TABLE groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  avatar_url TEXT NOT NULL DEFAULT '',
  introduction TEXT NOT NULL DEFAULT '',
  extra TEXT NOT NULL DEFAULT '',
  owner_id INTEGER NOT NULL,
  user_num INTEGER NOT NULL DEFAULT 0,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);

CREATE TABLE group_members (
  group_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  member_type INTEGER NOT NULL,            -- 1 admin, 2 member
  remarks TEXT NOT NULL DEFAULT '',
  extra TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX idx_group_members_user_id ON group_members (user_id);
