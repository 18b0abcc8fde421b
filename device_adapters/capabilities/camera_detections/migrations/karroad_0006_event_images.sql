-- depends: karroad_0005_snapshot_box
-- The images of a camera event, in one place: its own snapshots (Karroad's native cameras name the event),
-- and its camera's snapshots of its label while it lasted, plus a minute (Frigate's name no event: the best
-- frame of the latest object of that label, published again at its end). Read by the events API, the
-- incidents API and the retention purge (a held incident keeps exactly what it shows).
CREATE OR REPLACE VIEW camera_event_images AS
SELECT s.event_id, s.time, s.media_sha256 FROM camera_snapshots s
UNION
SELECT e.event_id, l.time, l.media_sha256
FROM camera_events e
JOIN camera_label_snapshots l
  ON l.device_id = e.device_id AND l.label = e.label AND l.time >= e.start_time
 AND l.time <= coalesce(e.end_time, now()) + interval '1 minute';
