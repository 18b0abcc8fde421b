-- depends: 0035_frame_not_judged
-- A reviewer's shortlist (issue 21, item 4; docs/vision.md "The reviewer's shortlist"): each analysed frame's
-- defect score, written with its analysis (services/vision/shortlist.py: sum of confidence x grade of its
-- defect detections; 0: nothing to look at). NULL for a frame not judged, an analysis error, or an analysis
-- written before this migration (those rank after every scored frame). The index serves "a mission's best
-- frames" without sorting all of them.
ALTER TABLE frame_analyses ADD COLUMN defect_score real CHECK (defect_score IS NULL OR defect_score >= 0);
CREATE INDEX frame_analyses_shortlist_idx ON frame_analyses (mission_id, model, defect_score DESC NULLS LAST);
