-- depends: karroad_0004_label_snapshots
-- The box of the frame a Frigate object's snapshot is from (after.snapshot.box, detect pixels): Frigate
-- crops its MQTT snapshots around it, so the privacy copy maps the event boxes through it.
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS snapshot_box integer[];
