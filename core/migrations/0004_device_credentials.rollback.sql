ALTER TABLE devices DROP COLUMN location, DROP COLUMN mqtt_password_hash, DROP COLUMN credentials_issued_at,
    DROP COLUMN revoked_at;
