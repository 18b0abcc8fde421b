DELETE FROM observations WHERE mission_id IN (SELECT mission_id FROM missions WHERE source = 'import');
DELETE FROM missions WHERE source = 'import';
DROP INDEX IF EXISTS missions_import_idx;
ALTER TABLE missions DROP CONSTRAINT IF EXISTS missions_source_check_device;
ALTER TABLE missions DROP COLUMN IF EXISTS exchange_header;
ALTER TABLE missions DROP COLUMN IF EXISTS import_id;
ALTER TABLE missions DROP COLUMN IF EXISTS source;
ALTER TABLE missions ALTER COLUMN device_id SET NOT NULL;
DROP TABLE IF EXISTS inspection_imports;
