DROP TABLE IF EXISTS camera_snapshots;
DROP TABLE IF EXISTS camera_events;
