-- depends: 0013_alert_channels
-- Device labels, domain events, and an alert's device apart from its subject (issue 10; docs/alerts.md).
--
-- Labels are key = value pairs on a device (a garden, a sewer sector: as Kubernetes labels or Home
-- Assistant areas) that rule scopes and silences select on. An alert keeps the labels its device had when
-- it fired, so a silence matches what the alert said, not what the registry says later.
ALTER TABLE devices ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
CREATE INDEX devices_labels_idx ON devices USING gin (labels jsonb_path_ops);

ALTER TABLE alerts ADD COLUMN device_id text;
ALTER TABLE alerts ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
UPDATE alerts SET device_id = subject WHERE device_id IS NULL;
CREATE INDEX alerts_device_idx ON alerts (device_id, fired_at DESC, id DESC);

ALTER TABLE alert_silences ADD COLUMN labels jsonb;
ALTER TABLE alert_silences DROP CONSTRAINT IF EXISTS alert_silences_check1;
ALTER TABLE alert_silences ADD CONSTRAINT alert_silences_matches_something
    CHECK (rule_name IS NOT NULL OR device_id IS NOT NULL OR service IS NOT NULL OR labels IS NOT NULL);

-- Domain events: something another part of the platform found (a pipe defect of grade 4, a suspected
-- dumping), keyed on what it is about; raising it again updates it. Event rules turn them into alerts
-- (one per event); ending it clears the alert, withdrawing it (a reviewer rejected the observation)
-- retracts it. changed_at is the database's clock: the evaluator's watermark.
CREATE TABLE domain_events (
    id          bigserial PRIMARY KEY,
    type        text NOT NULL,
    key         text NOT NULL,
    device_id   text NOT NULL,
    family      text NOT NULL,
    occurred_at timestamptz NOT NULL,
    ended_at    timestamptz,
    withdrawn   boolean NOT NULL DEFAULT false,
    summary     text NOT NULL,
    attributes  jsonb NOT NULL DEFAULT '{}',
    raised_by   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (type, key),
    CHECK (ended_at IS NULL OR ended_at >= occurred_at)
);
CREATE INDEX domain_events_changed_idx ON domain_events (changed_at);
