CREATE OR REPLACE VIEW camera_event_images AS
SELECT s.event_id, s.time, s.media_sha256 FROM camera_snapshots s
UNION
SELECT e.event_id, l.time, l.media_sha256
FROM camera_events e
JOIN camera_label_snapshots l
  ON l.device_id = e.device_id AND l.label = e.label AND l.time >= e.start_time
 AND l.time <= coalesce(e.end_time, now()) + interval '1 minute';
-- the same image of the same event from two cameras becomes one row again (the event's own camera's kept)
DELETE FROM camera_snapshots s USING camera_snapshots k
WHERE s.event_id = k.event_id AND s.media_sha256 = k.media_sha256 AND s.device_id <> k.device_id
  AND NOT EXISTS (SELECT 1 FROM camera_events e WHERE e.event_id = s.event_id AND e.device_id = s.device_id)
  AND (EXISTS (SELECT 1 FROM camera_events e WHERE e.event_id = k.event_id AND e.device_id = k.device_id)
       OR s.device_id > k.device_id);
ALTER TABLE camera_snapshots DROP CONSTRAINT camera_snapshots_pkey, ADD PRIMARY KEY (event_id, media_sha256);
