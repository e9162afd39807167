-- Disabled contact lists keep their records but are not dialed. The pick must skip them
-- without reading each record's list: the flag is copied onto the record (set again for
-- the whole list when the list is enabled or disabled) and sits in the pick index before
-- next_attempt_at, so `... AND state = 'ready' AND list_enabled = 1 ORDER BY
-- next_attempt_at, id` stays one index range at any size. `attempts` at its end makes
-- the inventory's grouped count index-only.
ALTER TABLE records ADD COLUMN list_enabled INTEGER NOT NULL DEFAULT 1;
DROP INDEX records_pick;
CREATE INDEX records_pick ON records (campaign_id, state, list_enabled, next_attempt_at, id, attempts);
