ALTER TABLE alert_outbox DROP COLUMN IF EXISTS silenced_by;
DROP TABLE IF EXISTS alert_silences;
