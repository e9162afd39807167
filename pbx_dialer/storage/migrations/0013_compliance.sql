-- Why each call was allowed, checked right before it was dialed (JSON).
ALTER TABLE attempts ADD COLUMN compliance TEXT NOT NULL DEFAULT '{}';
