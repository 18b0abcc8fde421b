DROP INDEX IF EXISTS frame_analyses_shortlist_idx;
ALTER TABLE frame_analyses DROP COLUMN defect_score;
