-- Why the dialer paused a campaign by itself (e.g. every call failing the same way), and
-- when: shown on the pages until the campaign's status changes again (a supervisor plays
-- it). NULL: no alert.
ALTER TABLE campaigns ADD COLUMN alert TEXT;
ALTER TABLE campaigns ADD COLUMN alert_at REAL;
