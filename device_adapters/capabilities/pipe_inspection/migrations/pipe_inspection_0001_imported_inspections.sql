-- depends: bathy_0002_mission_list_index
-- Inspections imported from EN 13508-2 exchange files (issue 23; docs/exchange.md): a contractor's CCTV survey
-- of a pipe lands beside the drone's missions, as a mission with no device, so that the two can be compared,
-- reported and exported the same way. Each file is kept once (its SHA-256 refuses a second import) with what
-- it said verbatim: the header codes of each inspection (exchange_header) are exported back as they came.
CREATE TABLE IF NOT EXISTS inspection_imports (
    id           bigserial PRIMARY KEY,
    sha256       text NOT NULL UNIQUE,
    filename     text,
    format       text NOT NULL CHECK (format IN ('en13508-txt', 'en13508-xml')),
    language     text,
    version      text,
    size_bytes   integer NOT NULL,
    content      bytea NOT NULL,
    imported_by  text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    inspections  integer NOT NULL,
    observations integer NOT NULL,
    warnings     jsonb NOT NULL DEFAULT '[]'
);

ALTER TABLE missions ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE missions ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'drone'
    CHECK (source IN ('drone', 'import'));
ALTER TABLE missions ADD COLUMN IF NOT EXISTS import_id bigint REFERENCES inspection_imports (id);
ALTER TABLE missions ADD COLUMN IF NOT EXISTS exchange_header jsonb;
-- a drone's mission has its drone; an imported inspection has its file and no device. (Idempotent, like the
-- statements above: this migration was first named bathy_0003_imported_inspections on 2026-12-06, and a
-- database that applied it under that name applies it again under this one.)
ALTER TABLE missions DROP CONSTRAINT IF EXISTS missions_source_check_device;
ALTER TABLE missions ADD CONSTRAINT missions_source_check_device
    CHECK ((source = 'drone' AND device_id IS NOT NULL) OR (source = 'import' AND device_id IS NULL AND import_id IS NOT NULL));
CREATE INDEX IF NOT EXISTS missions_import_idx ON missions (import_id) WHERE import_id IS NOT NULL;
