-- depends: 0040_console_sessions
-- Every change of a device's own online/offline status (its status topic, or the last will the broker sent for
-- it), kept so that a device's uptime over a period can be measured (issue 22, item 1: "device uptime (online
-- share)"; docs/experiments.md). Written by a trigger on devices, so every writer of a status (each ingest
-- worker) records it the same way, in the same transaction; only changes (the same status again is no row:
-- ingest's update skips it), at most one row per status message a device sends.
CREATE TABLE device_status_changes (
    device_id text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    online    boolean NOT NULL,
    PRIMARY KEY (device_id, at)
);

-- what is known already: each device's current status, from when it changed
INSERT INTO device_status_changes (device_id, at, online)
SELECT device_id, status_at, online FROM devices WHERE online IS NOT NULL AND status_at IS NOT NULL;

CREATE FUNCTION record_device_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO device_status_changes (device_id, at, online) VALUES (NEW.device_id, NEW.status_at, NEW.online)
    ON CONFLICT (device_id, at) DO UPDATE SET online = EXCLUDED.online;
    RETURN NULL;
END $$;

CREATE TRIGGER devices_status_changed AFTER UPDATE OF online, status_at ON devices
    FOR EACH ROW WHEN (NEW.online IS NOT NULL AND NEW.status_at IS NOT NULL
                       AND NEW.online IS DISTINCT FROM OLD.online)
    EXECUTE FUNCTION record_device_status_change();
