-- The full campaign model: settings, hour codes, contact lists, DNC, imports, live feeds.

-- Named weekly calling schedules with holidays. `weekly` is JSON:
-- {"mon": [["09:00", "12:30"], ["13:30", "18:00"]], "tue": [...], ...};
-- `holidays` is JSON: ["2026-12-25", ...] (closed all day). `timezone` is where the
-- schedule's clock runs for a call-centre code; consumer codes run in each record's zone.
CREATE TABLE hour_codes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    weekly TEXT NOT NULL DEFAULT '{}',
    holidays TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

ALTER TABLE campaigns ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN dispatch_per_min INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN max_abandon_pct REAL NOT NULL DEFAULT 3.0;
ALTER TABLE campaigns ADD COLUMN recording INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN agent_notes TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 1;
-- JSON {"BUSY": {"delay_s": 600, "max_attempts": 3}, ...}
ALTER TABLE campaigns ADD COLUMN retry_rules TEXT NOT NULL DEFAULT '{}';
-- JSON [{"code": "SALE", "label": "Sale", "outcome": "final"}, ...]
ALTER TABLE campaigns ADD COLUMN classifications TEXT NOT NULL DEFAULT '[]';
-- JSON {"SUCCESS": "CONTACTED", "BUSY": "RETRY", ...}
ALTER TABLE campaigns ADD COLUMN result_classifications TEXT NOT NULL DEFAULT '{}';
ALTER TABLE campaigns ADD COLUMN cc_hour_code_id INTEGER REFERENCES hour_codes(id);
ALTER TABLE campaigns ADD COLUMN consumer_hour_code_id INTEGER REFERENCES hour_codes(id);
ALTER TABLE campaigns ADD COLUMN default_region TEXT NOT NULL DEFAULT 'US';
-- Schedule: dates (YYYY-MM-DD) and daily automatic start/stop times (HH:MM), in the
-- call-centre hour code's time zone.
ALTER TABLE campaigns ADD COLUMN start_date TEXT;
ALTER TABLE campaigns ADD COLUMN end_date TEXT;
ALTER TABLE campaigns ADD COLUMN auto_start TEXT;
ALTER TABLE campaigns ADD COLUMN auto_stop TEXT;
-- Suspension (a Pause with a resume time and a reminder).
ALTER TABLE campaigns ADD COLUMN suspended_until REAL;
ALTER TABLE campaigns ADD COLUMN reminder_at REAL;
ALTER TABLE campaigns ADD COLUMN reminder_to TEXT;
ALTER TABLE campaigns ADD COLUMN reminder_sent_at REAL;
ALTER TABLE campaigns ADD COLUMN cloned_from INTEGER REFERENCES campaigns(id);
ALTER TABLE campaigns ADD COLUMN live INTEGER NOT NULL DEFAULT 0;

-- A campaign's contact lists; a disabled list keeps its records but is not dialed.
CREATE TABLE contact_lists (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    name TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'csv', 'crm')),
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE INDEX contact_lists_campaign ON contact_lists (campaign_id);

ALTER TABLE records ADD COLUMN list_id INTEGER REFERENCES contact_lists(id);
ALTER TABLE records ADD COLUMN external_id TEXT;
-- The IANA zone the consumer hours apply in; NULL: the fallback window applies.
ALTER TABLE records ADD COLUMN timezone TEXT;
ALTER TABLE records ADD COLUMN tz_source TEXT NOT NULL DEFAULT 'fallback';
ALTER TABLE records ADD COLUMN notes TEXT NOT NULL DEFAULT '';
-- JSON: every number of the customer, E.164, `phone` first.
ALTER TABLE records ADD COLUMN phones TEXT NOT NULL DEFAULT '[]';
-- JSON: the file's other columns.
ALTER TABLE records ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE records ADD COLUMN classification TEXT;
ALTER TABLE records ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN handled_at REAL;
ALTER TABLE records ADD COLUMN cancelled_at REAL;
CREATE INDEX records_list ON records (list_id);
CREATE INDEX records_phone ON records (campaign_id, phone);
CREATE INDEX records_external ON records (campaign_id, external_id);

-- Do-not-call: campaign_id 0 is the global list.
CREATE TABLE dnc (
    campaign_id INTEGER NOT NULL DEFAULT 0,
    phone TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'api',
    added_at REAL NOT NULL,
    PRIMARY KEY (campaign_id, phone)
) WITHOUT ROWID;

-- CSV imports and their progress; rejected rows with their line and reason.
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER REFERENCES campaigns(id),
    project_id INTEGER,
    list_id INTEGER REFERENCES contact_lists(id),
    filename TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    bytes_total INTEGER NOT NULL DEFAULT 0,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    rows_read INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE import_rejects (
    import_id INTEGER NOT NULL REFERENCES imports(id),
    line INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL DEFAULT ''
);
CREATE INDEX import_rejects_import ON import_rejects (import_id, line);

-- Projects route each imported record to a campaign by its fields. `rules` is JSON:
-- [{"field": "region", "equals": "north", "campaign_id": 3}, ...], first match wins.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rules TEXT NOT NULL DEFAULT '[]',
    default_campaign_id INTEGER REFERENCES campaigns(id),
    created_at REAL NOT NULL
);

-- Live campaigns take their records from a CRM endpoint polled with a cursor.
CREATE TABLE live_feeds (
    campaign_id INTEGER PRIMARY KEY REFERENCES campaigns(id),
    url TEXT NOT NULL,
    poll_s REAL NOT NULL DEFAULT 30,
    cursor TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'ok',
    last_error TEXT NOT NULL DEFAULT '',
    failures INTEGER NOT NULL DEFAULT 0,
    last_poll_at REAL,
    auto_paused TEXT NOT NULL DEFAULT ''
);
