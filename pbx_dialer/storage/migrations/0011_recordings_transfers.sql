-- The recording of an attempt: the file MixMonitor writes, relative to Asterisk's
-- monitor spool directory (astspooldir/monitor), e.g. pbxd-12-0a1b2c3d.wav.
ALTER TABLE attempts ADD COLUMN recording TEXT;

-- Transfers of campaign calls (blind or attended), as Asterisk reported them.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    attempt_id INTEGER NOT NULL REFERENCES attempts(id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    kind TEXT NOT NULL CHECK (kind IN ('blind', 'attended')),
    at REAL NOT NULL,
    -- The agent who took the call when the agent transferred it, else the channel.
    transferred_by TEXT NOT NULL,
    agent_interface TEXT,
    -- extension@context (blind) or the target's channel (attended).
    target TEXT NOT NULL,
    -- An event reported twice (e.g. replayed after a reconnect) is stored once.
    UNIQUE (attempt_id, kind, at)
);
CREATE INDEX transfers_campaign_at ON transfers (campaign_id, at);
