ALTER TABLE devices DROP COLUMN IF EXISTS data_late_at, DROP COLUMN IF EXISTS data_late_from, DROP COLUMN IF EXISTS data_late_prev, DROP COLUMN IF EXISTS data_late_since;
