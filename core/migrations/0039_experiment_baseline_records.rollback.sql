DROP TABLE IF EXISTS experiment_baseline_records;
