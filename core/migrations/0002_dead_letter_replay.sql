-- depends: 0001_foundation
-- Dead-letter replay bookkeeping. A replayed letter is kept (marked resolved), never deleted: the raw
-- bytes stay as evidence of what the device sent.
ALTER TABLE dead_letters RENAME COLUMN replayed_at TO resolved_at;
ALTER TABLE dead_letters
    ADD COLUMN replay_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN last_replay_at timestamptz,
    ADD COLUMN last_replay_code text,
    ADD COLUMN last_replay_reason text;
CREATE INDEX dead_letters_unresolved_idx ON dead_letters (id) WHERE resolved_at IS NULL;
