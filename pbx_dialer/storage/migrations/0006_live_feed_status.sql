-- Live feeds: what the status needs besides 0002's columns. The contact list (source
-- 'crm') the records land in, the fetch timeout, counters of what was taken, skipped
-- (invalid) and ignored (external_id already held), the last skips with their reasons,
-- and when the next poll is due (backoff included).
ALTER TABLE live_feeds ADD COLUMN list_id INTEGER REFERENCES contact_lists(id);
ALTER TABLE live_feeds ADD COLUMN timeout_s REAL NOT NULL DEFAULT 10;
ALTER TABLE live_feeds ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;
ALTER TABLE live_feeds ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE live_feeds ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE live_feeds ADD COLUMN last_skips TEXT NOT NULL DEFAULT '[]';
ALTER TABLE live_feeds ADD COLUMN next_poll_at REAL;
ALTER TABLE live_feeds ADD COLUMN last_ok_at REAL;
ALTER TABLE live_feeds ADD COLUMN created_at REAL NOT NULL DEFAULT 0;
