DROP TABLE IF EXISTS domain_events;
ALTER TABLE alert_silences DROP CONSTRAINT IF EXISTS alert_silences_matches_something;
DELETE FROM alert_silences WHERE rule_name IS NULL AND device_id IS NULL AND service IS NULL;
ALTER TABLE alert_silences ADD CONSTRAINT alert_silences_check1
    CHECK (rule_name IS NOT NULL OR device_id IS NOT NULL OR service IS NOT NULL);
ALTER TABLE alert_silences DROP COLUMN IF EXISTS labels;
DROP INDEX IF EXISTS alerts_device_idx;
ALTER TABLE alerts DROP COLUMN IF EXISTS labels, DROP COLUMN IF EXISTS device_id;
DROP INDEX IF EXISTS devices_labels_idx;
ALTER TABLE devices DROP COLUMN IF EXISTS labels;
