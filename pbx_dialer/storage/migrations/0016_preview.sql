-- Preview mode: the agent sees the record before it is dialed.
-- Seconds before a reserved record is dialed by itself (0: never).
ALTER TABLE campaigns ADD COLUMN preview_autodial_s INTEGER NOT NULL DEFAULT 0;

-- A record held for one agent (its state is 'in_progress' meanwhile, so no pick takes
-- it). One reservation per agent at a time.
CREATE TABLE reservations (
    record_id INTEGER PRIMARY KEY REFERENCES records(id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    agent TEXT NOT NULL UNIQUE,
    pbx TEXT NOT NULL,
    reserved_at REAL NOT NULL,
    autodial_at REAL
);

-- Records an agent skipped are not offered to that agent again until `until`.
CREATE TABLE skips (
    agent TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records(id),
    until REAL NOT NULL,
    PRIMARY KEY (agent, record_id)
);
