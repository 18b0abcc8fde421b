DROP INDEX IF EXISTS media_copy_pending_idx;
CREATE INDEX IF NOT EXISTS media_personal_idx ON media (created_at) WHERE personal;
ALTER TABLE media DROP COLUMN IF EXISTS copy_pending;
