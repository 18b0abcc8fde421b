DROP INDEX IF EXISTS missions_started_idx;
