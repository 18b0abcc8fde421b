-- depends: 0032_retention_runs
-- The default rules that come with a capability left the pack of the one family that had them for the
-- capability's own pack (issue 20, item 2: device_adapters/capabilities/<capability>/alerts.toml, written
-- once per providing family, source 'pack:<capability>'): the dumping-incident rule left the cameras' pack,
-- the pipe's rules (gases, water rising, defects of grade 4 or 5) the drone's. The rows keep their names
-- (silences and alerts name them) and their scope (the family's copy: services/alerts/packs.py keeps the
-- name a family's copy has); only the pack that writes them changes, so that the loader still owns them and
-- updates them with the pack. A rule a person edited (source 'api') stays theirs, untouched.
UPDATE alert_rules SET source = 'pack:camera_detections'
 WHERE source = 'pack:karroad' AND name = 'camera-dumping-suspected';
UPDATE alert_rules SET source = 'pack:pipe_inspection'
 WHERE source = 'pack:bathy' AND name IN ('drone-h2s-short-term', 'drone-h2s-8h', 'drone-o2-low', 'drone-o2-high',
                                          'drone-ch4-lel-10', 'drone-ch4-lel-20', 'drone-water-rising',
                                          'pipe-defect-grade-4');
