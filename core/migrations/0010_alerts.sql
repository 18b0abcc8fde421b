-- depends: 0009_list_indexes
-- Alerts (issue 10; docs/alerts.md). Rules are data; an alert is an episode that fired, keyed on
-- (rule, subject, began_at); at most one open alert per (rule, subject); every change is on the timeline
-- (alert_events) and in the outbox the deliveries read.

-- When ingest last wrote something for a device (the database's clock, every batch, replays included):
-- the evaluator finds the devices to re-evaluate from it.
ALTER TABLE devices ADD COLUMN data_changed_at timestamptz;
CREATE INDEX devices_data_changed_idx ON devices (data_changed_at);

CREATE TABLE alert_rules (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL,
    definition  jsonb NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    source      text NOT NULL,  -- 'pack:<file>' for a default pack, 'api' once edited or created by a person
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    rule_id         bigint NOT NULL REFERENCES alert_rules (id),
    rule_name       text NOT NULL,
    subject         text NOT NULL,  -- the device id
    family          text NOT NULL,
    service         text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state           text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    resolution      text CHECK (resolution IN ('cleared', 'by_hand', 'retracted')),
    began_at        timestamptz NOT NULL,
    fired_at        timestamptz NOT NULL,
    cleared_at      timestamptz,
    trigger_time    timestamptz,
    trigger_value   double precision,
    worst_value     double precision,
    summary         text NOT NULL,
    acknowledged_by text,
    acknowledged_at timestamptz,
    assignee        text,
    resolved_by     text,
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, subject, began_at)
);
CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (rule_id, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_list_idx ON alerts (fired_at DESC, id DESC);
CREATE INDEX alerts_service_idx ON alerts (service, fired_at DESC, id DESC);
CREATE INDEX alerts_subject_idx ON alerts (subject, rule_id, began_at);

CREATE TABLE alert_events (
    id       bigserial PRIMARY KEY,
    alert_id bigint NOT NULL REFERENCES alerts (id),
    at       timestamptz NOT NULL DEFAULT now(),
    kind     text NOT NULL,  -- fired, cleared, retracted, acknowledged, assigned, resolved_by_hand, silenced
    actor    text NOT NULL,  -- 'evaluator' or the token's name
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);

-- What the deliveries (stream, webhooks, MQTT) send, in order; each reads it on its own cursor.
CREATE TABLE alert_outbox (
    id       bigserial PRIMARY KEY,
    event_id bigint NOT NULL REFERENCES alert_events (id),
    alert_id bigint NOT NULL REFERENCES alerts (id),
    service  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    body     jsonb NOT NULL
);
