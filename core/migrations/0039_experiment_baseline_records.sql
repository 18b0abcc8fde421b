-- depends: 0038_experiments
-- A baseline imported from the city's own records (issue 22, item 1; docs/experiments.md): for the dumping
-- pilot, the illegal dumps the city recorded before the cameras (date, place, volume), so the experiment's
-- period is compared with what the city saw, not only with the platform's own earlier data.
CREATE TABLE experiment_baseline_records (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    line          integer NOT NULL,  -- the line of the imported file: a record is found again by it
    day           date NOT NULL,
    place         text NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
    volume_m3     double precision CHECK (volume_m3 >= 0 AND volume_m3 < 10000),
    PRIMARY KEY (experiment_id, line)
);
