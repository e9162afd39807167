-- The pick under consumer hours: one index range per time zone that is open now
-- (`timezone = ?` sits before next_attempt_at), merged by due time in the dialer.
CREATE INDEX records_pick_zone ON records (campaign_id, state, list_enabled, timezone, next_attempt_at, id);
