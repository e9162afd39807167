-- The consumer-hours fallback for records of unknown time zone: JSON list of IANA zones
-- the consumer code must be open in, all at once ('[]': the number's own candidate zones).
ALTER TABLE hour_codes ADD COLUMN fallback_zones TEXT NOT NULL DEFAULT '[]';
