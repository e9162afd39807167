-- A campaign may stop dialing while inbound callers of its queue have waited longer
-- than this many seconds (0: never).
ALTER TABLE campaigns ADD COLUMN inbound_wait_limit_s INTEGER NOT NULL DEFAULT 0;
