-- What the called person got: an agent ('agent') or a recorded message ('message',
-- agentless campaigns), so results can be filtered by it.
ALTER TABLE attempts ADD COLUMN media TEXT NOT NULL DEFAULT 'agent'
    CHECK (media IN ('agent', 'message'));
-- Agentless message campaigns: the sound played, the key that transfers the person to
-- the campaign's queue ('' = none), and answering-machine detection (0/1).
ALTER TABLE campaigns ADD COLUMN message TEXT NOT NULL DEFAULT 'demo-congrats';
ALTER TABLE campaigns ADD COLUMN transfer_key TEXT NOT NULL DEFAULT '1';
ALTER TABLE campaigns ADD COLUMN amd INTEGER NOT NULL DEFAULT 0;
