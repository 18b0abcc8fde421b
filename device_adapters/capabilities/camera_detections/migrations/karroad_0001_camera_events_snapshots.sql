-- depends: 0001_foundation
-- Detection events (their latest state) and their snapshots (media in the shared store).
CREATE TABLE IF NOT EXISTS camera_events (
    event_id     text PRIMARY KEY,
    device_id    text NOT NULL,
    source       text NOT NULL,
    event_type   text NOT NULL,
    updated_at   timestamptz NOT NULL,
    label        text NOT NULL,
    score        double precision NOT NULL,
    box          integer[] NOT NULL,
    zone         text,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz,
    stationary   boolean NOT NULL,
    has_snapshot boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS camera_events_time_idx ON camera_events (start_time DESC);
CREATE INDEX IF NOT EXISTS camera_events_device_idx ON camera_events (device_id, start_time DESC);

CREATE TABLE IF NOT EXISTS camera_snapshots (
    event_id     text NOT NULL,
    media_sha256 text NOT NULL REFERENCES media (sha256),
    device_id    text NOT NULL,
    time         timestamptz NOT NULL,
    PRIMARY KEY (event_id, media_sha256)
);
