-- A suspended campaign is Paused with a reason to resume: by itself at suspended_until,
-- or by hand (suspended_until NULL). The automatic daily start leaves it alone.
ALTER TABLE campaigns ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
