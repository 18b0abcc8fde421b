-- Foundation schema: device registry, content-addressed media metadata, dead letters. Each family's
-- tables are migrations in its own folder (device_adapters/<family>/migrations/), idempotent so that a
-- database created when they were part of this file takes them as they are.
--
-- Idempotency: every table that ingest writes has a natural key, and ingest inserts with
-- ON CONFLICT, so a message the broker redelivers lands on the row it already wrote.
-- Telemetry is stored wide (one row per message, one column per metric); docs/benchmarks.md has the
-- measurements that chose this over one narrow (time, device, metric, value) table.

CREATE TABLE devices (
    device_id   text PRIMARY KEY,
    family      text NOT NULL,
    pilot       text,
    description text,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz
);
CREATE INDEX devices_family_idx ON devices (family);

CREATE TABLE media (
    sha256       text PRIMARY KEY,
    content_type text NOT NULL,
    size_bytes   integer NOT NULL,
    width        integer,
    height       integer,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
    id                bigserial PRIMARY KEY,
    first_received_at timestamptz NOT NULL,
    last_received_at  timestamptz NOT NULL,
    occurrences       integer NOT NULL DEFAULT 1,
    topic             text NOT NULL,
    family            text,
    device_id         text,
    reason_code       text NOT NULL,
    reason            text NOT NULL,
    payload           bytea NOT NULL,
    payload_sha256    text NOT NULL,
    user_properties   jsonb NOT NULL DEFAULT '{}',
    replayed_at       timestamptz,
    UNIQUE (topic, payload_sha256)
);
CREATE INDEX dead_letters_time_idx ON dead_letters (last_received_at DESC);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason_code);
