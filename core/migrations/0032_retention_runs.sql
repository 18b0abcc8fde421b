-- depends: 0031_observation_settled
-- The last retention purge that completed, whoever ran it (an evidence worker, the Kubernetes CronJob
-- backstop, `tlab retention purge`): the gauge a city alerts on (tlab_retention_last_success_timestamp_seconds)
-- reads it here, so it is the same on every worker and counts every purger. One row; the audit log keeps
-- each purge's report.
CREATE TABLE IF NOT EXISTS retention_runs (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_success_at timestamptz NOT NULL,
    last_by        text NOT NULL,
    last_report    jsonb NOT NULL
);
