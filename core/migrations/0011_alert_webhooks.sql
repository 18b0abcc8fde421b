-- depends: 0010_alerts
-- Webhooks per service: the outbox's events of that service, signed as Standard Webhooks says, delivered
-- in order with retries; every attempt is logged. `delivered_through` is the webhook's own cursor on the
-- outbox: a dead or slow endpoint holds only its own.
CREATE TABLE alert_webhooks (
    id                bigserial PRIMARY KEY,
    service           text NOT NULL,
    url               text NOT NULL,
    secret            text NOT NULL,  -- whsec_<base64>: the platform must sign with it, so it is kept
    enabled           boolean NOT NULL DEFAULT true,
    delivered_through bigint NOT NULL DEFAULT 0,
    created_by        text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alert_webhook_deliveries (
    id          bigserial PRIMARY KEY,
    webhook_id  bigint NOT NULL REFERENCES alert_webhooks (id) ON DELETE CASCADE,
    outbox_id   bigint NOT NULL,
    message_id  text NOT NULL,  -- the webhook-id header: the same on every retry of a message
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    status      integer,        -- the endpoint's HTTP status; null when it did not answer
    error       text,
    duration_ms double precision NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'gave_up'))
);
CREATE INDEX alert_webhook_deliveries_idx ON alert_webhook_deliveries (webhook_id, id DESC);
