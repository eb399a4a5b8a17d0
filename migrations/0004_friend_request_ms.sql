-- When (ms) a row's request or friendship began: it names the notifications about that request,
-- so a retried call notifies again under the same id (the inbox applies each id once) and a new
-- request after a delete gets new ones.
ALTER TABLE friends ADD COLUMN request_ms INTEGER NOT NULL DEFAULT 0;
