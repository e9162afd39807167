-- Campaigns, their records, every attempt and every control action.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'active', 'paused', 'stopped', 'completed')),
    pbx TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    queue_priority INTEGER NOT NULL DEFAULT 0,
    dial_mode TEXT NOT NULL DEFAULT 'progressive',
    max_lines INTEGER NOT NULL DEFAULT 1,
    ring_timeout_s INTEGER NOT NULL DEFAULT 30,
    queue_timeout_s INTEGER NOT NULL DEFAULT 30,
    caller_id TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    phone TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'ready'
        CHECK (state IN ('ready', 'in_progress', 'handled', 'max_calls', 'filtered', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_result TEXT,
    created_at REAL NOT NULL
);
-- The dial loop's pick: ready records of a campaign, due first.
CREATE INDEX records_pick ON records (campaign_id, state, next_attempt_at, id);

CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    record_id INTEGER NOT NULL REFERENCES records(id),
    pbx TEXT NOT NULL,
    channel_id TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'placed'
        CHECK (state IN ('placed', 'answered', 'queued', 'connected', 'ended')),
    result TEXT,
    cause TEXT NOT NULL DEFAULT '',
    queue TEXT,
    agent TEXT,
    placed_at REAL NOT NULL,
    answered_at REAL,
    connected_at REAL,
    ended_at REAL,
    ring_s REAL,
    wait_s REAL,
    talk_s REAL
);
CREATE INDEX attempts_campaign ON attempts (campaign_id, id);
CREATE INDEX attempts_live ON attempts (state) WHERE state != 'ended';

CREATE TABLE campaign_actions (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at REAL NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
