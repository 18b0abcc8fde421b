DROP INDEX IF EXISTS camera_events_list_idx;
CREATE INDEX IF NOT EXISTS camera_events_time_idx ON camera_events (start_time DESC);
