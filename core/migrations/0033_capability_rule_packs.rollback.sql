-- The rules go back to the packs of the families that had them (the code before the capability packs
-- writes them from there). A family's copy other than these rows (`<name>@<family>`) has no pack to go
-- back to: it stays, as a rule no pack writes.
UPDATE alert_rules SET source = 'pack:karroad'
 WHERE source = 'pack:camera_detections' AND name = 'camera-dumping-suspected'
   AND definition->'scope'->>'family' = 'karroad';
UPDATE alert_rules SET source = 'pack:bathy'
 WHERE source = 'pack:pipe_inspection' AND name IN ('drone-h2s-short-term', 'drone-h2s-8h', 'drone-o2-low',
                                                    'drone-o2-high', 'drone-ch4-lel-10', 'drone-ch4-lel-20',
                                                    'drone-water-rising', 'pipe-defect-grade-4')
   AND definition->'scope'->>'family' = 'bathy';
