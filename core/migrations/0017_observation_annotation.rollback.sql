ALTER TABLE observations DROP COLUMN IF EXISTS annotated_sha256;
