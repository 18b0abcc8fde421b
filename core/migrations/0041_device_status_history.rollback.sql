DROP TRIGGER IF EXISTS devices_status_changed ON devices;
DROP FUNCTION IF EXISTS record_device_status_change();
DROP TABLE IF EXISTS device_status_changes;
