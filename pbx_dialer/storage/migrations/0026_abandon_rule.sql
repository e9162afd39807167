-- The rule a campaign's abandonment cap counts by ('tcpa': persons answered over 30
-- days; 'ofcom': live calls over 24 hours, AMD false positives counted as abandoned),
-- and the campaign's measured share of AMD machine verdicts that were persons (Ofcom).
ALTER TABLE campaigns ADD COLUMN abandon_rule TEXT NOT NULL DEFAULT 'tcpa';
ALTER TABLE campaigns ADD COLUMN amd_false_positive_pct REAL NOT NULL DEFAULT 0.0;
