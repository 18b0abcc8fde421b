-- depends: 0015_data_late_at
-- Pipe vision (issue 11; docs/vision.md). Each drone frame is analysed once per vision model (the key
-- holds the model: a new model analyses every frame again, on demand); a mission's observations are
-- derived from its frames' analyses and reconciled with the stored ones, so that people's reviews stay
-- on the observation they reviewed.
CREATE TABLE frame_analyses (
    device_id    text NOT NULL,
    time         timestamptz NOT NULL,
    model        text NOT NULL,
    mission_id   text NOT NULL,
    chainage_m   double precision NOT NULL,
    media_sha256 text NOT NULL,
    detections   jsonb NOT NULL DEFAULT '[]',
    error        text,
    analysed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, time, model)
);
CREATE INDEX frame_analyses_mission_idx ON frame_analyses (mission_id, model);

CREATE TABLE observations (
    id                 bigserial PRIMARY KEY,
    mission_id         text NOT NULL,
    code               text NOT NULL,
    characterisation   text NOT NULL DEFAULT '',
    chainage_start_m   double precision NOT NULL,
    chainage_end_m     double precision,
    clock_from         smallint NOT NULL CHECK (clock_from BETWEEN 1 AND 12),
    clock_to           smallint NOT NULL CHECK (clock_to BETWEEN 1 AND 12),
    quantification     double precision,
    grade              smallint NOT NULL CHECK (grade BETWEEN 1 AND 5),
    confidence         double precision NOT NULL,
    frames             integer NOT NULL,
    best_frame_time    timestamptz,
    best_frame_sha256  text,
    remark             text NOT NULL DEFAULT '',
    model              text NOT NULL,
    -- automatic until a person reviews it; withdrawn when a later analysis no longer supports it
    state              text NOT NULL DEFAULT 'automatic'
                       CHECK (state IN ('automatic', 'confirmed', 'rejected', 'recoded', 'withdrawn')),
    reviewed_by        text,
    reviewed_at        timestamptz,
    review_note        text,
    recoded_code       text,
    recoded_grade      smallint CHECK (recoded_grade BETWEEN 1 AND 5),
    recoded_clock_from smallint CHECK (recoded_clock_from BETWEEN 1 AND 12),
    recoded_clock_to   smallint CHECK (recoded_clock_to BETWEEN 1 AND 12),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observations_mission_idx ON observations (mission_id, chainage_start_m, id);
