-- depends: karroad_0003_frigate_fields
-- Snapshots a Frigate gateway publishes per camera and label (<prefix>/<camera>/<label>/snapshot: the
-- best frame of the latest object of that label; no event id in the topic). An event's snapshots are its
-- camera's of its label while it lasted (device_adapters/karroad/api.py).
CREATE TABLE IF NOT EXISTS camera_label_snapshots (
    device_id    text NOT NULL,
    label        text NOT NULL,
    media_sha256 text NOT NULL REFERENCES media (sha256),
    time         timestamptz NOT NULL,
    gateway_id   text NOT NULL,
    PRIMARY KEY (device_id, label, media_sha256)
);
CREATE INDEX IF NOT EXISTS camera_label_snapshots_time_idx ON camera_label_snapshots (device_id, label, time);
