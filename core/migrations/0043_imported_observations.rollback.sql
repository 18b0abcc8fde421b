DELETE FROM observations WHERE source = 'import';
ALTER TABLE observations DROP CONSTRAINT IF EXISTS observations_vision_complete;
ALTER TABLE observations ALTER COLUMN clock_from SET NOT NULL, ALTER COLUMN clock_to SET NOT NULL,
    ALTER COLUMN grade SET NOT NULL, ALTER COLUMN confidence SET NOT NULL;
ALTER TABLE observations DROP COLUMN IF EXISTS exchange_fields;
ALTER TABLE observations DROP COLUMN IF EXISTS source;
