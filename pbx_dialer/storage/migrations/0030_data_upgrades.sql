-- Upgrades of stored data that need the domain's rules (not SQL alone), run once at
-- start-up by the module that owns the rule; done_at NULL: still to do.
CREATE TABLE data_upgrades (name TEXT PRIMARY KEY, done_at REAL);
-- Records stored as typed before one phone-number rule existed (pbx_dialer.phones).
INSERT INTO data_upgrades (name) VALUES ('phones_e164');
