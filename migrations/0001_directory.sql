-- The directory: users, devices and friends (gim Era A columns). Times are unix seconds.
-- Messages, seqs, acks and tokens live in each user's UserInbox Durable Object, never here.
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number TEXT NOT NULL UNIQUE,
  nickname TEXT NOT NULL DEFAULT '',
  sex INTEGER NOT NULL DEFAULT 0,          -- 0 unknown, 1 male, 2 female
  avatar_url TEXT NOT NULL DEFAULT '',
  extra TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
CREATE INDEX idx_users_nickname ON users (nickname);

CREATE TABLE devices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL DEFAULT 0,      -- the last user that signed in on it; 0 = none yet
  type INTEGER NOT NULL,                   -- 1 Android, 2 iOS, 3 Windows, 4 MacOS, 5 Web
  brand TEXT NOT NULL,
  model TEXT NOT NULL,
  system_version TEXT NOT NULL,
  sdk_version TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
CREATE INDEX idx_devices_user_id ON devices (user_id);

-- One row per direction. status 0 = requested (user_id asked friend_id), 1 = agreed.
CREATE TABLE friends (
  user_id INTEGER NOT NULL,
  friend_id INTEGER NOT NULL,
  remarks TEXT NOT NULL DEFAULT '',
  extra TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  PRIMARY KEY (user_id, friend_id)
);
CREATE INDEX idx_friends_friend_id ON friends (friend_id, status);
