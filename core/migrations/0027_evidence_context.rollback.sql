DROP TABLE IF EXISTS retained_clears;
DROP FUNCTION IF EXISTS evidence_requeue(text[]);
DROP FUNCTION IF EXISTS evidence_private_labels();
DROP INDEX IF EXISTS evidence_copies_superseded_idx;
ALTER TABLE evidence_copies DROP CONSTRAINT IF EXISTS evidence_copies_one_outcome;
DELETE FROM evidence_copies WHERE copy_sha256 IS NULL AND error IS NULL;
ALTER TABLE evidence_copies ADD CONSTRAINT evidence_copies_check CHECK ((copy_sha256 IS NULL) = (error IS NOT NULL));
ALTER TABLE evidence_copies DROP COLUMN IF EXISTS superseded_sha256, DROP COLUMN IF EXISTS made_with;
ALTER TABLE media DROP COLUMN IF EXISTS context_version;
