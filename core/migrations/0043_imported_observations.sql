-- depends: 0042_device_reported_positions
-- Observations read from a contractor's EN 13508-2 exchange file (issue 23; docs/exchange.md) beside the
-- vision's: a person coded them, so they carry no confidence and no frame; the file may give no clock position
-- (a manhole, a connection seen whole) and the standard carries no grade (the platform grades the codes its
-- table knows, services/vision/grades.py; the others stay ungraded, never invented). exchange_fields keeps the
-- file's fields of the observation as they came (its row, or its two rows for a continuous defect), so the
-- platform exports back what it imported.
ALTER TABLE observations ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'vision'
    CHECK (source IN ('vision', 'import'));
ALTER TABLE observations ADD COLUMN IF NOT EXISTS exchange_fields jsonb;
ALTER TABLE observations ALTER COLUMN clock_from DROP NOT NULL, ALTER COLUMN clock_to DROP NOT NULL,
    ALTER COLUMN grade DROP NOT NULL, ALTER COLUMN confidence DROP NOT NULL;
-- what the vision finds has all four, as before
ALTER TABLE observations ADD CONSTRAINT observations_vision_complete CHECK (source = 'import' OR (
    clock_from IS NOT NULL AND clock_to IS NOT NULL AND grade IS NOT NULL AND confidence IS NOT NULL));
