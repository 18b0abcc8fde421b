-- depends: 0001_foundation
-- Garden readings: one row per message, one column per measurement (wide; docs/benchmarks.md).
CREATE TABLE IF NOT EXISTS garden_readings (
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
SELECT create_hypertable('garden_readings', by_range('time', INTERVAL '7 days'), if_not_exists => TRUE);
