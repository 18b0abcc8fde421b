-- depends: 0033_capability_rule_packs
-- An observation carries how far it can be trusted (issue 21, item 3; docs/vision.md, "Trusted or
-- suggested"): its code's precision measured on real footage for the analysis that found it
-- (services/vision/trust.py). `trusted`: at or above the bar (TLAB_VISION_TRUST_BAR) on at least 20
-- reports; `suggested`: below it, or not measured. A suggested observation raises no pipe_defect event
-- (no grade-4 alert) until a person confirms or recodes it. `trust_basis`: the bar and the measurement
-- (figures and where: the real set's manifest, split, date, frames, the benchmark's file), null for a
-- row from before this column that no measurement covers.
ALTER TABLE observations ADD COLUMN IF NOT EXISTS trust text NOT NULL DEFAULT 'suggested'
    CHECK (trust IN ('trusted', 'suggested'));
ALTER TABLE observations ADD COLUMN IF NOT EXISTS trust_precision double precision
    CHECK (trust_precision BETWEEN 0 AND 1);
ALTER TABLE observations ADD COLUMN IF NOT EXISTS trust_basis jsonb;

-- Rows from before: suggested (the default above), unless their code is trusted for their model in the
-- trust file as it stands with this migration (services/vision/trust.toml of 2026-12-06, default bar 0.7,
-- 20 reports): no code of classical-2026.11.29e is (its best, BBC, is 2 right of 3 on the holdout split).
-- Their precision and its basis are recorded all the same. The pipe_defect events such rows raised before
-- are left as they are: their alerts were sent; a reviewer rejects what was not so.
UPDATE observations o
   SET trust = CASE WHEN t.precision >= 0.7 AND t.tp + t.fp >= 20 THEN 'trusted' ELSE 'suggested' END,
       trust_precision = t.precision,
       trust_basis = jsonb_build_object(
           'bar', 0.7, 'min_reports', 20, 'analysis', t.model,
           'manifest_sha256', '63eed7a1d05cebb5ab58f04d0b13caeb4defac0b2029b15694a077de94381ae1',
           'split', 'holdout', 'date', '2026-12-06', 'frames', 396,
           'results', 'docs/benchmarks-data/vision-real-2026-12-06.json', 'see', 'docs/benchmarks.md',
           'tp', t.tp, 'fp', t.fp)
  FROM (VALUES ('classical-2026.11.29e', 'BAA', 0, 1, 0.0::double precision),
               ('classical-2026.11.29e', 'BAB', 1, 73, 0.014),
               ('classical-2026.11.29e', 'BBA', 0, 12, 0.0),
               ('classical-2026.11.29e', 'BBB', 0, 3, 0.0),
               ('classical-2026.11.29e', 'BBC', 2, 1, 0.667),
               ('classical-2026.11.29e', 'BBE', 3, 19, 0.136),
               ('classical-2026.11.29e', 'BDD', 0, 0, NULL),
               ('classical-2026.11.29e', 'BDG', 0, 0, NULL)) AS t (model, code, tp, fp, precision)
 WHERE o.model = t.model AND o.code = t.code;

