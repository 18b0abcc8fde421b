-- depends: 0019_incidents
-- Privacy-safe evidence and retention (issue 12, docs/incidents.md).

-- Polygons over private windows and gardens, per device, in fractions of the frame (Frigate's mask
-- coordinates): blacked out by ingest in every image the device sends, before it is stored.
CREATE TABLE IF NOT EXISTS privacy_masks (
    device_id  text PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    polygons   jsonb NOT NULL CHECK (jsonb_typeof(polygons) = 'array'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- An image of a person-watching camera is personal data: its original is served to police only, through
-- an incident; everyone else gets its privacy copy.
ALTER TABLE media ADD COLUMN IF NOT EXISTS personal boolean NOT NULL DEFAULT false;
UPDATE media SET personal = true WHERE family = 'karroad';
CREATE INDEX IF NOT EXISTS media_personal_idx ON media (created_at) WHERE personal;

-- The privacy copy of each personal original, made once by `tlab evidence`; copy_sha256 NULL with an
-- error when it could not be made (the original is gone or undecodable): not retried for ever.
CREATE TABLE IF NOT EXISTS evidence_copies (
    original_sha256 text PRIMARY KEY REFERENCES media (sha256),
    copy_sha256     text REFERENCES media (sha256),
    device_id       text,
    method          text NOT NULL,
    masked          integer NOT NULL DEFAULT 0,
    boxes           integer NOT NULL DEFAULT 0,
    faces           integer NOT NULL DEFAULT 0,
    plates          integer NOT NULL DEFAULT 0,
    error           text,
    made_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((copy_sha256 IS NULL) = (error IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS evidence_copies_copy_idx ON evidence_copies (copy_sha256);


-- Legal holds (police): an incident's evidence kept past the retention period until released.
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS held_at timestamptz,
    ADD COLUMN IF NOT EXISTS held_by text,
    ADD COLUMN IF NOT EXISTS hold_note text CHECK (length(hold_note) <= 2000),
    ADD COLUMN IF NOT EXISTS evidence_purged_at timestamptz;
CREATE INDEX IF NOT EXISTS incidents_held_idx ON incidents (id) WHERE held_at IS NOT NULL;

-- What an audited call was about (an incident whose original was viewed) and what a job did (a purge).
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS subject text, ADD COLUMN IF NOT EXISTS detail jsonb;
CREATE INDEX IF NOT EXISTS audit_log_subject_idx ON audit_log (subject, at DESC) WHERE subject IS NOT NULL;
