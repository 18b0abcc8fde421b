-- depends: 0017_observation_annotation
-- Gateways (a Frigate NVR: one login speaking for many cameras): which registered device each of a
-- gateway's camera names is, and that camera's detect resolution (Frigate's boxes are in its pixels).
-- A message of a gateway about a camera name not mapped here is dead-lettered (unknown_camera).
CREATE TABLE IF NOT EXISTS gateway_cameras (
    gateway_id    text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    camera_name   text NOT NULL CHECK (camera_name ~ '^[A-Za-z0-9_-]{1,64}$'),
    device_id     text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    detect_width  integer CHECK (detect_width BETWEEN 1 AND 65535),
    detect_height integer CHECK (detect_height BETWEEN 1 AND 65535),
    mapped_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway_id, camera_name),
    UNIQUE (device_id),  -- a camera is behind one gateway
    CHECK (gateway_id <> device_id)
);
