DROP INDEX IF EXISTS dead_letters_list_idx;
DROP INDEX IF EXISTS dead_letters_device_idx;
DROP INDEX IF EXISTS audit_log_path_idx;
CREATE INDEX IF NOT EXISTS dead_letters_time_idx ON dead_letters (last_received_at DESC);
