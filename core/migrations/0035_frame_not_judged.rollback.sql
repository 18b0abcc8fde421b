ALTER TABLE frame_analyses DROP COLUMN not_judged;
