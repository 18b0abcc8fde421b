DROP INDEX IF EXISTS observations_provisional_idx;
ALTER TABLE observations DROP COLUMN IF EXISTS provisional;
