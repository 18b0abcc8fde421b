-- depends: 0018_gateway_cameras
-- Dumping incidents (issue 12, docs/incidents.md): one per object the incident rule suspects, keyed on its
-- first track (a later track split joins it), with the lifecycle people drive and its timeline.
CREATE TABLE IF NOT EXISTS incidents (
    id           bigserial PRIMARY KEY,
    key          text NOT NULL UNIQUE,
    device_id    text NOT NULL,
    label        text NOT NULL,
    zone         text,
    tracks       text[] NOT NULL,
    context      text[] NOT NULL DEFAULT '{}',
    began_at     timestamptz NOT NULL,
    suspected_at timestamptz NOT NULL,
    cleared_at   timestamptz,
    state        text NOT NULL DEFAULT 'suspected'
                 CHECK (state IN ('suspected', 'confirmed', 'dismissed', 'cleared', 'closed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS incidents_began_idx ON incidents (began_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS incidents_device_idx ON incidents (device_id, began_at DESC);

CREATE TABLE IF NOT EXISTS incident_timeline (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,   -- suspected, joined, confirmed, dismissed, cleared, closed, withdrawn
    actor       text NOT NULL,   -- 'rule', or the token's name
    note        text CHECK (length(note) <= 2000)
);
CREATE INDEX IF NOT EXISTS incident_timeline_idx ON incident_timeline (incident_id, at);
