-- Calling rules as data (pbx_dialer/rules): the campaign's rule set of the pack ('auto':
-- the set of its default region's country) and the per-number caps it opts into (JSON).
ALTER TABLE campaigns ADD COLUMN calling_rules TEXT NOT NULL DEFAULT 'auto';
ALTER TABLE campaigns ADD COLUMN number_caps TEXT NOT NULL DEFAULT '[]';
-- The rules pack version each attempt was checked against ('' before packs existed).
ALTER TABLE attempts ADD COLUMN rules_pack TEXT NOT NULL DEFAULT '';
-- A number's recent dials, for the rolling caps of the dial gate.
CREATE INDEX attempts_record_placed ON attempts (record_id, placed_at);
