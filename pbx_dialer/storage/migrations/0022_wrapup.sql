-- An agent's wrap-up of an attempt: seconds from the call's end to the agent's
-- classification (0 when classified during the call; NULL while not classified).
ALTER TABLE attempts ADD COLUMN wrapup_s REAL;
