-- depends: karroad_0006_event_images
-- A snapshot is its camera's (issue 19 item 5): keyed on (event, camera, image), and an event's images are
-- only its own camera's. Joined on event_id alone, camera P's snapshot for an event id camera Q then used
-- (P sent it first: nothing was Q's yet) showed as Q's evidence. The view keeps its columns.
ALTER TABLE camera_snapshots DROP CONSTRAINT camera_snapshots_pkey,
    ADD PRIMARY KEY (event_id, device_id, media_sha256);
CREATE OR REPLACE VIEW camera_event_images AS
SELECT s.event_id, s.time, s.media_sha256
FROM camera_snapshots s
JOIN camera_events e ON e.event_id = s.event_id AND e.device_id = s.device_id
UNION
SELECT e.event_id, l.time, l.media_sha256
FROM camera_events e
JOIN camera_label_snapshots l
  ON l.device_id = e.device_id AND l.label = e.label AND l.time >= e.start_time
 AND l.time <= coalesce(e.end_time, now()) + interval '1 minute';
