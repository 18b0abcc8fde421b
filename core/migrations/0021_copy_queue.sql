-- depends: 0020_evidence_retention
-- The privacy copies' queue: personal media waiting for their copy, so `tlab evidence` reads only what
-- waits (a partial index of the waiting rows) instead of every personal image kept for the retention period.
ALTER TABLE media ADD COLUMN IF NOT EXISTS copy_pending boolean NOT NULL DEFAULT false;
UPDATE media m SET copy_pending = true
WHERE m.personal AND NOT EXISTS (SELECT 1 FROM evidence_copies c WHERE c.original_sha256 = m.sha256);
DROP INDEX IF EXISTS media_personal_idx;
-- by camera, oldest first: the queue serves one image per camera in turn (services/evidence/copies.py)
CREATE INDEX IF NOT EXISTS media_copy_pending_idx ON media (device_id, created_at) WHERE copy_pending;
