UPDATE devices SET lat = NULL, lon = NULL, position_source = NULL, position_at = NULL WHERE position_source = 'device';
ALTER TABLE devices DROP COLUMN IF EXISTS position_accuracy_m;
ALTER TABLE devices DROP CONSTRAINT devices_position_source_check;
ALTER TABLE devices ADD CONSTRAINT devices_position_source_check CHECK (position_source IN ('provisioning', 'api'));
