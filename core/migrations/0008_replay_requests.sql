-- depends: 0007_media_owner
-- Dead-letter replays asked for over HTTP: recorded here by the API, executed by an ingest worker (the
-- API never runs ingest's writer). A worker claims a request with FOR UPDATE SKIP LOCKED; a claim older
-- than its lease (a worker killed mid-replay) is taken over; replay is idempotent, so running it again
-- is safe. The report stays for whoever asked.
CREATE TABLE replay_requests (
    id           bigserial PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by text,
    selection    jsonb NOT NULL,
    dry_run      boolean NOT NULL,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    claimed_by   text,
    claimed_at   timestamptz,
    finished_at  timestamptz,
    report       jsonb,
    error        text
);
CREATE INDEX replay_requests_open_idx ON replay_requests (id) WHERE state IN ('queued', 'running');
