-- Delivery results, abandonment windows and the details page read a campaign's attempts
-- by the time they were placed: read only that period, not every attempt of the campaign.
CREATE INDEX attempts_placed ON attempts (campaign_id, placed_at);
