-- What the network said about the customer's leg: the Q.850 hangup cause and, where
-- Asterisk exposes it (PJSIP's TechCause), the SIP final response. And whether the
-- call's end (and so its talk time) is known: a call that ended while the dialer was
-- not listening is stored with its times marked unknown, never guessed.
ALTER TABLE attempts ADD COLUMN cause_code INTEGER;
ALTER TABLE attempts ADD COLUMN sip_status INTEGER;
ALTER TABLE attempts ADD COLUMN times_known INTEGER NOT NULL DEFAULT 1;
