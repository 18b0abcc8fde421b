-- depends: bathy_0001_missions_telemetry_frames
-- The missions list orders by start time (most recent first): this index serves it without a sort.
CREATE INDEX IF NOT EXISTS missions_started_idx ON missions (started_at DESC NULLS LAST, mission_id);
