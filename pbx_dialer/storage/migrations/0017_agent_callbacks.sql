-- Callbacks promised by one agent: the agent desk looks for due ones twice a second, and
-- for one agent's own when they ask for work; both read this small index, never the
-- whole records table.
CREATE INDEX records_agent_callbacks ON records (campaign_id, callback_agent, next_attempt_at)
    WHERE callback_agent IS NOT NULL AND state = 'ready';
