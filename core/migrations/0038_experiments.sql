-- depends: 0037_positions
-- Experiments (issue 22, item 1; docs/experiments.md): a laureate's pilot tested on the territory for a period,
-- judged on KPIs computed from the stored data (services/experiments/kpis.py), against a baseline period.
CREATE TABLE experiments (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    capability     text NOT NULL CHECK (capability IN ('pipe_inspection', 'camera_detections', 'readings')),
    family         text,  -- the pilot's family, when it is one family's (its devices by default)
    devices        text[] NOT NULL DEFAULT '{}',  -- empty: the family's devices, or every device providing the capability
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    baseline_starts_at timestamptz,
    baseline_ends_at   timestamptz,
    description    text CHECK (length(description) <= 2000),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK (starts_at >= '2000-01-01Z' AND ends_at <= '2100-01-01Z'),
    CHECK (baseline_starts_at IS NULL OR (baseline_starts_at >= '2000-01-01Z' AND baseline_ends_at <= '2100-01-01Z')),
    CHECK ((baseline_starts_at IS NULL) = (baseline_ends_at IS NULL)),
    CHECK (baseline_starts_at IS NULL OR baseline_starts_at < baseline_ends_at),
    CHECK (cardinality(devices) <= 1000)
);
-- names are unique whatever their case: "Drone nord" and "drone Nord" are one experiment to staff
CREATE UNIQUE INDEX experiments_name_unique_idx ON experiments (lower(name));
