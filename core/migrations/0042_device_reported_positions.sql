-- depends: 0041_device_status_history
-- A device may report its own position (issue 22, item 2: "set at provisioning, by label, or by the device
-- itself"): <family>/<device_id>/position, device_adapters/position.py. Its fixes carry an accuracy radius.
-- A position set by staff through the API ('api') is kept over the device's fixes until it is removed.
ALTER TABLE devices DROP CONSTRAINT devices_position_source_check;
ALTER TABLE devices
    ADD CONSTRAINT devices_position_source_check CHECK (position_source IN ('provisioning', 'api', 'device')),
    ADD COLUMN position_accuracy_m double precision CHECK (position_accuracy_m BETWEEN 0 AND 100000);
