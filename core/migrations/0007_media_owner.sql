-- depends: 0006_dead_letter_bounds
-- Whose a medium is: the family and device that first sent its bytes. The media route applies that
-- family's reader policy (a drone frame is pipe data, a camera snapshot is evidence), as the family's
-- other routes do; retention of evidence will use it too.
ALTER TABLE media ADD COLUMN family text, ADD COLUMN device_id text;
-- Backfill of media stored before; the families' tables exist only where they were created already.
DO $$
BEGIN
    IF to_regclass('drone_frames') IS NOT NULL THEN
        UPDATE media m SET family = 'bathy', device_id = f.device_id
        FROM (SELECT DISTINCT ON (media_sha256) media_sha256, device_id FROM drone_frames) f
        WHERE f.media_sha256 = m.sha256;
    END IF;
    IF to_regclass('camera_snapshots') IS NOT NULL THEN
        UPDATE media m SET family = 'karroad', device_id = s.device_id
        FROM (SELECT DISTINCT ON (media_sha256) media_sha256, device_id FROM camera_snapshots) s
        WHERE s.media_sha256 = m.sha256 AND m.family IS NULL;
    END IF;
END $$;
