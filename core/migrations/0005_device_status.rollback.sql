ALTER TABLE devices DROP COLUMN online, DROP COLUMN status_at;
