-- depends: karroad_0001_camera_events_snapshots
-- The events list pages by (start_time, event_id), newest first.
CREATE INDEX IF NOT EXISTS camera_events_list_idx ON camera_events (start_time DESC, event_id DESC);
DROP INDEX IF EXISTS camera_events_time_idx;  -- the list index leads with the same column
