-- The agent's classification of an attempt, and callbacks.
ALTER TABLE attempts ADD COLUMN classification TEXT;
ALTER TABLE attempts ADD COLUMN classified_by TEXT;
ALTER TABLE attempts ADD COLUMN classified_at REAL;
ALTER TABLE attempts ADD COLUMN callback_at REAL;
ALTER TABLE attempts ADD COLUMN callback_agent TEXT;
ALTER TABLE records ADD COLUMN callback_agent TEXT;
