-- depends: 0017_observation_annotation
-- An observation the drone is still over is provisional (issue 19, item 16; docs/vision.md): the next
-- frame may extend it, recode it or change its letter, so its pipe_defect domain event (the alert staff
-- get) waits until it is settled: the drone is more than the grouping gap past it, or its mission is over.
-- Rows from before this column were raised as they were: they read settled.
ALTER TABLE observations ADD COLUMN IF NOT EXISTS provisional boolean NOT NULL DEFAULT false;
-- the vision worker looks for missions that ended with observations still provisional, every cycle
CREATE INDEX IF NOT EXISTS observations_provisional_idx ON observations (mission_id)
    WHERE provisional AND state <> 'withdrawn';
