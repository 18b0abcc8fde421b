DROP INDEX IF EXISTS dead_letters_unresolved_idx;
ALTER TABLE dead_letters DROP COLUMN replay_attempts, DROP COLUMN last_replay_at, DROP COLUMN last_replay_code,
    DROP COLUMN last_replay_reason;
ALTER TABLE dead_letters RENAME COLUMN resolved_at TO replayed_at;
