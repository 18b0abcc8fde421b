-- depends: 0003_api_tokens_audit
-- Device provisioning: MQTT credentials issued from the registry. The secret is shown once; only
-- Mosquitto's own password hash ($7$, PBKDF2-SHA512) is kept, so the broker's password file can be
-- regenerated from this table at any time.
ALTER TABLE devices
    ADD COLUMN location text,
    ADD COLUMN mqtt_password_hash text,
    ADD COLUMN credentials_issued_at timestamptz,
    ADD COLUMN revoked_at timestamptz;
