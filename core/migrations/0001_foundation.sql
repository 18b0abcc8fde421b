-- Foundation schema: device registry, per-family time series (hypertables), missions, camera events,
-- content-addressed media metadata, dead letters.
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

CREATE TABLE garden_readings (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    soil_vwc_pct double precision,
    soil_temp_c  double precision,
    air_temp_c   double precision,
    air_rh_pct   double precision,
    light_lux    double precision,
    rain_mm      double precision,
    UNIQUE (device_id, time)
);
SELECT create_hypertable('garden_readings', by_range('time', INTERVAL '7 days'));

CREATE TABLE missions (
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
CREATE INDEX missions_device_idx ON missions (device_id, started_at DESC);
CREATE INDEX missions_pipe_idx ON missions (pipe_id);

CREATE TABLE drone_telemetry (
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
SELECT create_hypertable('drone_telemetry', by_range('time', INTERVAL '1 day'));
CREATE INDEX drone_telemetry_mission_idx ON drone_telemetry (mission_id, time);

CREATE TABLE media (
    sha256       text PRIMARY KEY,
    content_type text NOT NULL,
    size_bytes   integer NOT NULL,
    width        integer,
    height       integer,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drone_frames (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    mission_id   text NOT NULL,
    chainage_m   double precision NOT NULL,
    seq          integer,
    media_sha256 text NOT NULL REFERENCES media (sha256),
    UNIQUE (device_id, time)
);
SELECT create_hypertable('drone_frames', by_range('time', INTERVAL '1 day'));
CREATE INDEX drone_frames_mission_idx ON drone_frames (mission_id, time);

CREATE TABLE camera_events (
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
CREATE INDEX camera_events_time_idx ON camera_events (start_time DESC);
CREATE INDEX camera_events_device_idx ON camera_events (device_id, start_time DESC);

CREATE TABLE camera_snapshots (
    event_id     text NOT NULL,
    media_sha256 text NOT NULL REFERENCES media (sha256),
    device_id    text NOT NULL,
    time         timestamptz NOT NULL,
    PRIMARY KEY (event_id, media_sha256)
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
