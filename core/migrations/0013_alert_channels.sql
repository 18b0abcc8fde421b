-- depends: 0012_alert_silences
-- The cursor of each delivery channel that is not a webhook (MQTT): the last outbox event it sent.
CREATE TABLE alert_channels (
    name              text PRIMARY KEY,
    delivered_through bigint NOT NULL
);
