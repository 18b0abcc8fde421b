-- depends: 0021_copy_queue
-- Why the evaluator could not evaluate a rule at its last try (a rule stored before the API checked what
-- the evaluator can run, a definition an older version wrote): shown on GET /v1/alert-rules, cleared when
-- the rule evaluates again or is replaced (issue 19).
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS last_error text;
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS last_error_at timestamptz;
