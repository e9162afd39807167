-- CSV imports: the lists an import made (so a failed import can be undone whole),
-- and the encoding and delimiter it found.
ALTER TABLE contact_lists ADD COLUMN import_id INTEGER REFERENCES imports(id);
CREATE INDEX contact_lists_import ON contact_lists (import_id) WHERE import_id IS NOT NULL;
ALTER TABLE imports ADD COLUMN encoding TEXT NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN delimiter TEXT NOT NULL DEFAULT '';
