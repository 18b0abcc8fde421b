-- depends: 0036_frame_defect_score
-- Positions (issue 22, item 2; docs/positions.md): a device's place in WGS 84 (EPSG:4326), set at provisioning
-- or by PUT /v1/devices/{id}/position, with where it came from and when; the drone's manholes (the nodes a
-- mission's pipe runs between, by their reference) with theirs. Lambert-93 (EPSG:2154) is computed when
-- shown, never stored: one truth.
ALTER TABLE devices
    ADD COLUMN lat double precision CHECK (lat BETWEEN -90 AND 90),
    ADD COLUMN lon double precision CHECK (lon BETWEEN -180 AND 180),
    ADD COLUMN position_source text CHECK (position_source IN ('provisioning', 'api')),
    ADD COLUMN position_at timestamptz,
    ADD CONSTRAINT devices_position_whole CHECK ((lat IS NULL) = (lon IS NULL) AND (lat IS NULL) = (position_source IS NULL));

CREATE TABLE manholes (
    ref         text PRIMARY KEY CHECK (length(ref) BETWEEN 1 AND 64),
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    description text CHECK (length(description) <= 500),
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
