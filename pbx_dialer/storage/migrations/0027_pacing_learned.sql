-- What a predictive campaign's pacing learned (ring outcomes, talk, wrap-up and pick-up
-- times, its margin: pbx_dialer.pacing.predictive), as JSON: per campaign, so a restart
-- needs no warm-up, and per queue (pbx, queue), so a new campaign on a known queue
-- starts from it too.
CREATE TABLE pacing_learned (
    scope TEXT NOT NULL CHECK (scope IN ('campaign', 'queue')),
    name TEXT NOT NULL,
    stats TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, name)
);
