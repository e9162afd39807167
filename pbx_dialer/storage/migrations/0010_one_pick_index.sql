-- One pick index instead of two (every index slows a 1M-row import): the dialer picks
-- one range per time zone (`timezone = ?`, NULL included) in next_attempt_at order and
-- merges them, with or without consumer hours; `attempts` at the end keeps the
-- inventory's grouped count index-only.
DROP INDEX records_pick;
DROP INDEX records_pick_zone;
CREATE INDEX records_pick ON records (campaign_id, state, list_enabled, timezone, next_attempt_at, id, attempts);
