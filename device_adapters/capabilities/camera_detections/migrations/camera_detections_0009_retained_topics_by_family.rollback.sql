-- Back to karroad_0008's functions (retained snapshot topics under 'karroad/' only): the same triggers run them again.

-- another camera, event or label names an image (the same JPEG from a second gateway, a snapshot for a
-- second event): its copy is made again with that context too
CREATE OR REPLACE FUNCTION karroad_requeue_named_images() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evidence_requeue(ARRAY(SELECT DISTINCT media_sha256 FROM added));
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS camera_snapshots_requeue ON camera_snapshots;
CREATE TRIGGER camera_snapshots_requeue AFTER INSERT ON camera_snapshots REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION karroad_requeue_named_images();
DROP TRIGGER IF EXISTS camera_label_snapshots_requeue ON camera_label_snapshots;
CREATE TRIGGER camera_label_snapshots_requeue AFTER INSERT ON camera_label_snapshots REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION karroad_requeue_named_images();

-- an event is stored or its box, snapshot box, label or span changes: its own snapshots (their label and
-- box are known now), the camera's images taken while a person or vehicle was tracked (a box to blur), and
-- the camera's snapshots of the event's label (a Frigate crop is placed by the object's snapshot box). A new
-- state of a known object concerns the images taken since its previous state (an object that moved is not
-- where it was in the older ones, whose copies keep the box of their moment): a person walking by re-queues
-- the images of its last seconds, not all those of its span at every update.
CREATE OR REPLACE FUNCTION karroad_requeue_event_images() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    private boolean := NEW.label = ANY(evidence_private_labels());
    low timestamptz := NEW.start_time - interval '5 seconds';
    high timestamptz := coalesce(NEW.end_time, 'infinity') + interval '1 minute';
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.label = NEW.label AND OLD.start_time = NEW.start_time
       AND OLD.device_id = NEW.device_id THEN
        low := greatest(low, OLD.updated_at - interval '5 seconds');
    END IF;
    PERFORM evidence_requeue(ARRAY(
        SELECT s.media_sha256 FROM camera_snapshots s WHERE s.event_id = NEW.event_id AND s.device_id = NEW.device_id
        UNION
        SELECT s.media_sha256 FROM camera_snapshots s
        WHERE private AND s.device_id = NEW.device_id AND s.time BETWEEN low AND high
        UNION
        SELECT l.media_sha256 FROM camera_label_snapshots l
        WHERE l.device_id = NEW.device_id AND (private OR l.label = NEW.label) AND l.time BETWEEN low AND high
    ));
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS camera_events_requeue_new ON camera_events;
CREATE TRIGGER camera_events_requeue_new AFTER INSERT ON camera_events
    FOR EACH ROW EXECUTE FUNCTION karroad_requeue_event_images();
DROP TRIGGER IF EXISTS camera_events_requeue_changed ON camera_events;
CREATE TRIGGER camera_events_requeue_changed AFTER UPDATE ON camera_events FOR EACH ROW
    WHEN (OLD.box IS DISTINCT FROM NEW.box OR OLD.snapshot_box IS DISTINCT FROM NEW.snapshot_box
          OR OLD.label IS DISTINCT FROM NEW.label OR OLD.start_time IS DISTINCT FROM NEW.start_time
          OR OLD.end_time IS DISTINCT FROM NEW.end_time OR OLD.device_id IS DISTINCT FROM NEW.device_id)
    EXECUTE FUNCTION karroad_requeue_event_images();

-- a camera's masks change, or where its images lie in its frame (its gateway mapping, its detect size): every
-- image it sent is copied again
CREATE OR REPLACE FUNCTION karroad_requeue_camera_images() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM evidence_requeue(ARRAY(
        SELECT media_sha256 FROM camera_snapshots WHERE device_id = NEW.device_id
        UNION
        SELECT media_sha256 FROM camera_label_snapshots WHERE device_id = NEW.device_id
    ));
    RETURN NULL;
END
$$;
-- (a mask or mapping set again unchanged, as the simulator does at every start, re-queues nothing)
DROP TRIGGER IF EXISTS privacy_masks_requeue_new ON privacy_masks;
CREATE TRIGGER privacy_masks_requeue_new AFTER INSERT ON privacy_masks
    FOR EACH ROW EXECUTE FUNCTION karroad_requeue_camera_images();
DROP TRIGGER IF EXISTS privacy_masks_requeue_changed ON privacy_masks;
CREATE TRIGGER privacy_masks_requeue_changed AFTER UPDATE ON privacy_masks FOR EACH ROW
    WHEN (OLD.polygons IS DISTINCT FROM NEW.polygons)
    EXECUTE FUNCTION karroad_requeue_camera_images();
DROP TRIGGER IF EXISTS gateway_cameras_requeue_new ON gateway_cameras;
CREATE TRIGGER gateway_cameras_requeue_new AFTER INSERT ON gateway_cameras
    FOR EACH ROW EXECUTE FUNCTION karroad_requeue_camera_images();
DROP TRIGGER IF EXISTS gateway_cameras_requeue_changed ON gateway_cameras;
CREATE TRIGGER gateway_cameras_requeue_changed AFTER UPDATE ON gateway_cameras FOR EACH ROW
    WHEN (OLD.device_id IS DISTINCT FROM NEW.device_id OR OLD.detect_width IS DISTINCT FROM NEW.detect_width
          OR OLD.detect_height IS DISTINCT FROM NEW.detect_height)
    EXECUTE FUNCTION karroad_requeue_camera_images();

-- The retained snapshot topics a gateway keeps on the broker for one of its camera names: one per label
-- the camera's snapshots were stored or dead-lettered under (karroad/<gateway>/<camera name>/<label>/snapshot).
CREATE OR REPLACE FUNCTION karroad_retained_snapshot_topics(gateway text, camera_name text, camera text)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT format('karroad/%s/%s/%s/snapshot', gateway, camera_name, label) FROM (
        SELECT label FROM camera_label_snapshots WHERE device_id = camera AND gateway_id = gateway
        UNION
        SELECT split_part(topic, '/', 4) FROM dead_letters
        WHERE family = 'karroad' AND device_id = gateway AND split_part(topic, '/', 1) = 'karroad'
          AND split_part(topic, '/', 2) = gateway AND split_part(topic, '/', 3) = camera_name
          AND split_part(topic, '/', 5) = 'snapshot' AND split_part(topic, '/', 6) = ''
          AND split_part(topic, '/', 4) <> ''
    ) labels
$$;

-- a camera unmapped (or its name moved to another camera): the gateway's retained snapshots under the old name go
CREATE OR REPLACE FUNCTION karroad_clear_unmapped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.device_id = NEW.device_id AND OLD.camera_name = NEW.camera_name
       AND OLD.gateway_id = NEW.gateway_id THEN
        RETURN NULL;
    END IF;
    INSERT INTO retained_clears (topic, reason)
    SELECT t, 'camera unmapped' FROM karroad_retained_snapshot_topics(OLD.gateway_id, OLD.camera_name, OLD.device_id) t
    ON CONFLICT (topic) DO NOTHING;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS gateway_cameras_clear_retained ON gateway_cameras;
CREATE TRIGGER gateway_cameras_clear_retained AFTER DELETE OR UPDATE ON gateway_cameras
    FOR EACH ROW EXECUTE FUNCTION karroad_clear_unmapped();

-- a camera or its gateway revoked: the platform stops accepting the camera's data, its retained snapshots go
CREATE OR REPLACE FUNCTION karroad_clear_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retained_clears (topic, reason)
    SELECT t, 'device revoked' FROM gateway_cameras g,
        karroad_retained_snapshot_topics(g.gateway_id, g.camera_name, g.device_id) t
    WHERE g.device_id = NEW.device_id OR g.gateway_id = NEW.device_id
    ON CONFLICT (topic) DO NOTHING;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS devices_clear_retained ON devices;
CREATE TRIGGER devices_clear_retained AFTER UPDATE OF revoked_at ON devices FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION karroad_clear_revoked();

DROP FUNCTION IF EXISTS camera_clear_revoked();
DROP FUNCTION IF EXISTS camera_clear_unmapped();
DROP FUNCTION IF EXISTS camera_retained_snapshot_topics(text, text, text);
DROP FUNCTION IF EXISTS camera_requeue_camera_images();
DROP FUNCTION IF EXISTS camera_requeue_event_images();
DROP FUNCTION IF EXISTS camera_requeue_named_images();
