-- depends: 0011_alert_webhooks
-- Silences: a matcher (rule, device, service: every given key must match) and a time window. An alert
-- event written while a matching silence is active is kept (the alert and its timeline are complete)
-- but marked silenced in the outbox, which the deliveries skip; the event's detail names the silence.
CREATE TABLE alert_silences (
    id         bigserial PRIMARY KEY,
    rule_name  text,
    device_id  text,
    service    text,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    comment    text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (rule_name IS NOT NULL OR device_id IS NOT NULL OR service IS NOT NULL)
);
CREATE INDEX alert_silences_active_idx ON alert_silences (ends_at);
ALTER TABLE alert_outbox ADD COLUMN silenced_by bigint REFERENCES alert_silences (id);
