-- The queue member interface (e.g. PJSIP/7001) that took the call, next to the member's
-- name in `agent`: an agent user is known by their interface, and may classify only the
-- calls that reached it.
ALTER TABLE attempts ADD COLUMN agent_interface TEXT;
