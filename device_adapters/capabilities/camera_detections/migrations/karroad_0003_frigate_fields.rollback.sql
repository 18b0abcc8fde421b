ALTER TABLE camera_events DROP COLUMN IF EXISTS false_positive, DROP COLUMN IF EXISTS motionless_count,
    DROP COLUMN IF EXISTS top_score, DROP COLUMN IF EXISTS current_zones, DROP COLUMN IF EXISTS entered_zones,
    DROP COLUMN IF EXISTS plate, DROP COLUMN IF EXISTS gateway_id;
