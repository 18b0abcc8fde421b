ALTER TABLE media DROP COLUMN family, DROP COLUMN device_id;
