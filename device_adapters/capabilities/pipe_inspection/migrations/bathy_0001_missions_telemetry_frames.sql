-- depends: 0001_foundation
-- Missions (a pipe segment flown), telemetry along it and video frames (media in the shared store).
CREATE TABLE IF NOT EXISTS missions (
    mission_id    text PRIMARY KEY,
    device_id     text NOT NULL,
    started_at    timestamptz,
    ended_at      timestamptz,
    status        text NOT NULL DEFAULT 'running',
    pipe_id       text,
    start_manhole text,
    end_manhole   text,
    direction     text,
    diameter_mm   integer,
    material      text,
    operator      text,
    notes         text,
    distance_m    double precision
);
CREATE INDEX IF NOT EXISTS missions_device_idx ON missions (device_id, started_at DESC);
CREATE INDEX IF NOT EXISTS missions_pipe_idx ON missions (pipe_id);

CREATE TABLE IF NOT EXISTS drone_telemetry (
    time            timestamptz NOT NULL,
    device_id       text NOT NULL,
    mission_id      text NOT NULL,
    chainage_m      double precision NOT NULL,
    speed_mps       double precision,
    heading_deg     double precision,
    pitch_deg       double precision,
    roll_deg        double precision,
    water_level_pct double precision,
    water_temp_c    double precision,
    air_temp_c      double precision,
    h2s_ppm         double precision,
    ch4_pct_lel     double precision,
    o2_pct          double precision,
    battery_pct     double precision,
    rssi_dbm        double precision,
    UNIQUE (device_id, time)
);
SELECT create_hypertable('drone_telemetry', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS drone_telemetry_mission_idx ON drone_telemetry (mission_id, time);

CREATE TABLE IF NOT EXISTS drone_frames (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    mission_id   text NOT NULL,
    chainage_m   double precision NOT NULL,
    seq          integer,
    media_sha256 text NOT NULL REFERENCES media (sha256),
    UNIQUE (device_id, time)
);
SELECT create_hypertable('drone_frames', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS drone_frames_mission_idx ON drone_frames (mission_id, time);
