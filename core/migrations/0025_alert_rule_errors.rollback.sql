ALTER TABLE alert_rules DROP COLUMN IF EXISTS last_error_at;
ALTER TABLE alert_rules DROP COLUMN IF EXISTS last_error;
