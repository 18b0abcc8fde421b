DROP INDEX IF EXISTS audit_log_subject_idx;
ALTER TABLE audit_log DROP COLUMN IF EXISTS subject, DROP COLUMN IF EXISTS detail;
DROP INDEX IF EXISTS incidents_held_idx;
ALTER TABLE incidents DROP COLUMN IF EXISTS held_at, DROP COLUMN IF EXISTS held_by, DROP COLUMN IF EXISTS hold_note,
    DROP COLUMN IF EXISTS evidence_purged_at;
DROP TABLE IF EXISTS evidence_copies;
DROP INDEX IF EXISTS media_personal_idx;
ALTER TABLE media DROP COLUMN IF EXISTS personal;
DROP TABLE IF EXISTS privacy_masks;
