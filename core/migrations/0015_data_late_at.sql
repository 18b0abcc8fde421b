-- depends: 0014_labels_domain_events
-- Late rows, for the alert evaluator (docs/alerts.md, "The pass"). It reads only the readings stamped
-- since its last pass (its tail); rows ingest writes stamped more than 4 s before the database's clock (a
-- flushed buffer, a replay, a clock behind, a backlog) are flagged here so that it also reads back to them:
-- data_late_at: when late rows were last written; data_late_from: the oldest of them over the current
-- 10-second span (which began at data_late_since); data_late_prev: the same over the span before, so a
-- span that rolled over between two of the evaluator's passes loses nothing.
ALTER TABLE devices ADD COLUMN data_late_at timestamptz;
ALTER TABLE devices ADD COLUMN data_late_from timestamptz;
ALTER TABLE devices ADD COLUMN data_late_prev timestamptz;
ALTER TABLE devices ADD COLUMN data_late_since timestamptz;
