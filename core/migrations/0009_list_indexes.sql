-- depends: 0008_replay_requests
-- Indexes for the API's lists as they are asked for (docs/benchmarks.md, "List routes"): each list
-- orders by a unique key and pages by cursor on it, so an index on (filter, key) serves any page.
CREATE INDEX dead_letters_list_idx ON dead_letters (last_received_at DESC, id DESC);
CREATE INDEX dead_letters_device_idx ON dead_letters (device_id, last_received_at DESC, id DESC);
DROP INDEX IF EXISTS dead_letters_time_idx;  -- the list index leads with the same column
-- `path_prefix` is a LIKE 'prefix%' pattern: text_pattern_ops lets a btree serve it in any collation
CREATE INDEX audit_log_path_idx ON audit_log (path text_pattern_ops, id DESC);
