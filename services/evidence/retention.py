"""Retention of camera data (docs/incidents.md, "Retention"): what is older than the retention period
(``TLAB_CAMERA_RETENTION_DAYS``, 30 by default and at most 30: Code de la sécurité intérieure L.252-3) is
purged, rows and files, unless an incident under a legal hold needs it.

One purge, in one transaction, at a given ``now`` (the caller's clock: a test moves it, nothing waits):
  1. camera events whose last word (end, or last update) is older than the cut-off, but not the events
     of a held incident (its object and its context);
  2. their snapshots, and any snapshot older than the cut-off, but not those a held incident's events list
     (an event's own, and its camera's of its label while it lasted, as the API lists them);
  3. the privacy copies of the originals no longer named by any snapshot;
  4. media rows nothing refers to any more: no snapshot, no copy, nor any other table's foreign key to
     ``media`` (read from the catalog, so a table added later is respected); then their files, after the
     commit (a crash in between leaves files nothing names, never a row naming a missing file);
  5. the cameras' dead letters older than the cut-off (their payloads are camera images too);
  6. the incidents whose evidence went get a timeline entry; the purge itself is one audit-log row.
Incidents themselves stay (a case record: states, decisions, times; no image, no plate).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from core.media_store import MediaStore

logger = logging.getLogger(__name__)
ACTOR = "retention"

HELD_EVENTS = """
CREATE TEMP TABLE held_events ON COMMIT DROP AS
SELECT DISTINCT unnest(tracks || context) AS event_id FROM incidents WHERE held_at IS NOT NULL
"""
PURGE_EVENTS = """
DELETE FROM camera_events e WHERE coalesce(e.end_time, e.updated_at) < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM held_events h WHERE h.event_id = e.event_id)
RETURNING e.event_id
"""
PURGE_SNAPSHOTS = """
DELETE FROM camera_snapshots s
WHERE s.time < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM held_events h WHERE h.event_id = s.event_id)
RETURNING s.media_sha256
"""
PURGE_LABEL_SNAPSHOTS = """
DELETE FROM camera_label_snapshots l WHERE l.time < %(cutoff)s
  AND NOT EXISTS (  -- one of a held incident's events' images (the view the APIs list them by)
    SELECT 1 FROM camera_event_images i JOIN held_events h ON h.event_id = i.event_id
    WHERE i.media_sha256 = l.media_sha256 AND i.time = l.time)
RETURNING l.media_sha256
"""
PURGE_COPIES = """
DELETE FROM evidence_copies c WHERE c.original_sha256 = ANY(%(candidates)s)
  AND NOT EXISTS (SELECT 1 FROM camera_snapshots s WHERE s.media_sha256 = c.original_sha256)
  AND NOT EXISTS (SELECT 1 FROM camera_label_snapshots l WHERE l.media_sha256 = c.original_sha256)
RETURNING c.original_sha256, c.copy_sha256
"""
# every (table, column) with a foreign key to media(sha256): a file goes only when none of them names it
MEDIA_REFERENCES = """
SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
WHERE c.contype = 'f' AND c.confrelid = 'media'::regclass
"""
PURGE_DEAD_LETTERS = "DELETE FROM dead_letters WHERE family = ANY(%(families)s) AND last_received_at < %(cutoff)s"
MARK_INCIDENTS = """
WITH touched AS (
    UPDATE incidents SET evidence_purged_at = %(now)s, updated_at = %(now)s
    WHERE evidence_purged_at IS NULL AND held_at IS NULL AND (tracks || context) && %(events)s RETURNING id
)
INSERT INTO incident_timeline (incident_id, at, kind, actor, note)
SELECT id, %(now)s, 'evidence_purged', 'retention', %(note)s FROM touched RETURNING incident_id
"""
AUDIT = """
INSERT INTO audit_log (at, principal, roles, method, path, status, subject, detail)
VALUES (%s, %s, '{}', 'PURGE', '/retention/camera-data', 200, NULL, %s)
"""


@dataclass
class PurgeReport:
    cutoff: datetime
    events: int = 0
    snapshots: int = 0
    label_snapshots: int = 0
    copies: int = 0
    media_rows: int = 0
    files: int = 0
    dead_letters: int = 0
    incidents_marked: int = 0
    held_incidents: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cutoff": self.cutoff.isoformat()}


class DryRun(Exception):
    """Raised inside the purge's transaction to roll it back after counting."""


def purge(
    conn: psycopg.Connection[Any],
    media: MediaStore,
    now: datetime,
    days: int,
    *,
    families: tuple[str, ...] = ("karroad",),
    dry_run: bool = False,
) -> PurgeReport:
    """Purge what is older than ``days`` before ``now`` (see the module's docstring)."""
    report = PurgeReport(cutoff=now - timedelta(days=days), dry_run=dry_run)
    gone: list[str] = []
    try:
        with conn.transaction():
            gone = _purge_rows(conn, report, now, families)
            if dry_run:
                raise DryRun
    except DryRun:
        gone = []
    for sha in gone:
        path = media.open(sha)
        if path is not None:
            path.unlink(missing_ok=True)
            report.files += 1
    if not dry_run:
        logger.info("camera data purged", extra=report.as_dict())
    return report


def _purge_rows(
    conn: psycopg.Connection[Any], report: PurgeReport, now: datetime, families: tuple[str, ...]
) -> list[str]:
    params: dict[str, Any] = {"cutoff": report.cutoff, "now": now, "families": list(families)}
    report.held_incidents = conn.execute("SELECT count(*) FROM incidents WHERE held_at IS NOT NULL").fetchone()[0]  # type: ignore[index]
    conn.execute(HELD_EVENTS)
    events = [r[0] for r in conn.execute(PURGE_EVENTS, params).fetchall()]
    snaps = [r[0] for r in conn.execute(PURGE_SNAPSHOTS, params).fetchall()]
    labels = [r[0] for r in conn.execute(PURGE_LABEL_SNAPSHOTS, params).fetchall()]
    report.events, report.snapshots, report.label_snapshots = len(events), len(snaps), len(labels)
    candidates = sorted(set(snaps) | set(labels))
    copies = conn.execute(PURGE_COPIES, {"candidates": candidates}).fetchall()
    report.copies = len(copies)
    candidates = sorted(set(candidates) | {c[1] for c in copies if c[1]})
    gone = _unreferenced_media(conn, candidates)
    report.media_rows = len(gone)
    report.dead_letters = conn.execute(PURGE_DEAD_LETTERS, params).rowcount
    note = f"images and events older than {report.cutoff:%Y-%m-%d %H:%M} UTC purged (retention)"
    marked = conn.execute(MARK_INCIDENTS, {**params, "events": events, "note": note}).fetchall()
    report.incidents_marked = len(marked)
    conn.execute(AUDIT, (now, ACTOR, json.dumps(report.as_dict())))
    return gone


def _unreferenced_media(conn: psycopg.Connection[Any], candidates: list[str]) -> list[str]:
    if not candidates:
        return []
    refs = conn.execute(MEDIA_REFERENCES).fetchall()
    clauses = [
        sql.SQL("NOT EXISTS (SELECT 1 FROM {t} r WHERE r.{c} = m.sha256)").format(
            t=sql.SQL(table), c=sql.Identifier(column)
        )
        for table, column in refs
    ]
    where = sql.SQL(" AND ").join([sql.SQL("m.sha256 = ANY(%(c)s)"), *clauses])
    query = sql.SQL("DELETE FROM media m WHERE {where} RETURNING m.sha256").format(where=where)
    return [r[0] for r in conn.execute(query, {"c": candidates}).fetchall()]
