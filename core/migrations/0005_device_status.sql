-- depends: 0004_device_credentials
-- Online/offline from the devices' own status topic (<family>/<device_id>/status: "online" on connect,
-- "offline" as the MQTT last will or on a clean exit). NULL: the device never said.
ALTER TABLE devices
    ADD COLUMN online boolean,
    ADD COLUMN status_at timestamptz;
