-- Alternate numbers (pbx_dialer/dialing/numbers.py): the technical results after which a
-- record's next attempt dials its next number (JSON; [] = always the first number), and
-- the attempts allowed per number (0 = no cap but max_attempts).
ALTER TABLE campaigns ADD COLUMN next_number_on TEXT NOT NULL
    DEFAULT '["NOANSWER", "BUSY", "INVALID"]';
ALTER TABLE campaigns ADD COLUMN max_attempts_per_number INTEGER NOT NULL DEFAULT 0;
