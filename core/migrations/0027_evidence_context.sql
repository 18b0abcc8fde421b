-- depends: 0021_copy_queue
-- The privacy copy follows its image's context (issue 19, item 3; docs/incidents.md, "The privacy copy").
-- A copy is made with the boxes and masks of every camera and event that name its image (made_with); when the
-- image gains a context (another camera or event names it, an event's box or span changes, a camera gets a
-- mask or a new detect size: triggers in the camera family's karroad_0008) it is queued again and the copy
-- made with the old context is withdrawn until the new one is made (the API then says `pending`).

-- bumped at every change of an image's context: a copy made from an older version is not recorded
ALTER TABLE media ADD COLUMN IF NOT EXISTS context_version bigint NOT NULL DEFAULT 0;

ALTER TABLE evidence_copies
    ADD COLUMN IF NOT EXISTS made_with jsonb,  -- the boxes, masks and whole-image blur the copy was made with
    ADD COLUMN IF NOT EXISTS superseded_sha256 text REFERENCES media (sha256);  -- the withdrawn copy
-- a copy, or an error, or neither (queued again: nothing served until it is made)
ALTER TABLE evidence_copies DROP CONSTRAINT IF EXISTS evidence_copies_check;
ALTER TABLE evidence_copies DROP CONSTRAINT IF EXISTS evidence_copies_one_outcome;
ALTER TABLE evidence_copies ADD CONSTRAINT evidence_copies_one_outcome CHECK (copy_sha256 IS NULL OR error IS NULL);
CREATE INDEX IF NOT EXISTS evidence_copies_superseded_idx ON evidence_copies (superseded_sha256)
    WHERE superseded_sha256 IS NOT NULL;

-- labels whose boxes the copy blurs (services/evidence/copies.py PRIVATE_LABELS; a unit test keeps them equal)
CREATE OR REPLACE FUNCTION evidence_private_labels() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['person', 'face', 'car', 'van', 'truck', 'bus', 'motorcycle', 'bicycle', 'license_plate']
$$;

-- Queue the copies of these personal originals again. The copy made with the old context is withdrawn at once
-- (its media row marked personal: GET /v1/media refuses it) and kept as superseded: the worker restores it if
-- the new context adds nothing, or deletes it once the new copy is made. The version bump makes a worker that
-- is copying the image now discard its result (services/evidence/copies.py).
CREATE OR REPLACE FUNCTION evidence_requeue(shas text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF shas IS NULL OR cardinality(shas) = 0 THEN
        RETURN;
    END IF;
    -- rows locked in one order (by hash): two ingest batches naming the same images never deadlock
    UPDATE media SET context_version = context_version + 1, copy_pending = true
    WHERE sha256 IN (SELECT sha256 FROM media WHERE sha256 = ANY(shas) AND personal ORDER BY sha256 FOR UPDATE);
    UPDATE media SET personal = true WHERE sha256 IN (
        SELECT m.sha256 FROM media m JOIN evidence_copies c ON c.copy_sha256 = m.sha256
        WHERE c.original_sha256 = ANY(shas) ORDER BY m.sha256 FOR UPDATE OF m);
    UPDATE evidence_copies SET superseded_sha256 = coalesce(copy_sha256, superseded_sha256), copy_sha256 = NULL,
        error = NULL
    WHERE original_sha256 = ANY(shas) AND (copy_sha256 IS NOT NULL OR error IS NOT NULL);
END
$$;

-- Retained messages to delete from the broker (issue 19, item 4c): a device topic as published (no mount
-- point), queued by the retention purge and when a camera is unmapped or revoked; `tlab evidence` publishes
-- an empty retained message on each (services/evidence/clears.py), which ingest receives and ignores.
CREATE TABLE IF NOT EXISTS retained_clears (
    topic     text PRIMARY KEY CHECK (length(topic) <= 1024),
    reason    text NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
