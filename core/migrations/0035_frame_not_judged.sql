-- depends: 0033_capability_rule_packs
-- A frame the pipe vision could not judge (issue 21, item 2; docs/vision.md "Frames the vision does not
-- judge"): why, as the analysis says it (dark, fog, overexposed, text, no_vanishing_point); NULL when it
-- judged the frame. Such a frame has no detection but a loss of vision's BDG; the share of a mission's
-- frames not judged is what this column counts.
ALTER TABLE frame_analyses ADD COLUMN not_judged text
    CHECK (not_judged IS NULL OR not_judged ~ '^[a-z_]{1,40}$');
