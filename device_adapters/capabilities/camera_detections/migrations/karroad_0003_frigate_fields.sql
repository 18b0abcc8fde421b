-- depends: karroad_0002_event_list_index
-- What a Frigate gateway says of a tracked object beyond Karroad's native fields, for incidents and
-- privacy (docs/incidents.md): whether Frigate still takes it for a false positive, how long it has not
-- moved, the zones it is in and has entered, its best score, and a plate Frigate read (the text is for
-- police only; everyone may know that one was read). NULL / empty for Karroad's native cameras.
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS false_positive boolean NOT NULL DEFAULT false;
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS motionless_count integer;
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS top_score double precision;
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS current_zones text[] NOT NULL DEFAULT '{}';
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS entered_zones text[] NOT NULL DEFAULT '{}';
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS plate text;
ALTER TABLE camera_events ADD COLUMN IF NOT EXISTS gateway_id text;
