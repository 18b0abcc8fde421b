DROP TABLE IF EXISTS alert_outbox, alert_events, alerts, alert_rules;
ALTER TABLE devices DROP COLUMN IF EXISTS data_changed_at;
