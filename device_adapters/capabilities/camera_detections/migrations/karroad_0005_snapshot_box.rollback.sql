ALTER TABLE camera_events DROP COLUMN IF EXISTS snapshot_box;
