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
  5. the dead letters of every family that provides personal images (``Capability.PERSONAL_IMAGES``) older
     than the cut-off (their payloads are camera images too); the retained snapshots of what went are queued
     for deletion from the broker (``retained_clears``, drained by ``clears.py``: the broker keeps the last
     one of each topic for ever otherwise);
  6. the incidents whose evidence went get a timeline entry; the purge itself is one audit-log row (its
     counts; not ``files``, which go after the commit: the report and ``retention_runs`` have them).
A dry run counts the same (``files``: the files of the media rows that would go), then rolls back and deletes
nothing. Incidents themselves stay (a case record: states, decisions, times; no image, no plate). The tables are the
camera capability's (``device_adapters/capabilities/camera_detections``): every camera family's data alike.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from core.db import scalar
from core.media_store import MediaStore, delete_if_unnamed
from device_adapters.capabilities import Capability
from device_adapters.registry import family_names, may_be_retained

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
RETURNING l.media_sha256, l.device_id, l.label, l.gateway_id
"""
PURGE_COPIES = """
DELETE FROM evidence_copies c WHERE c.original_sha256 = ANY(%(candidates)s)
  AND NOT EXISTS (SELECT 1 FROM camera_snapshots s WHERE s.media_sha256 = c.original_sha256)
  AND NOT EXISTS (SELECT 1 FROM camera_label_snapshots l WHERE l.media_sha256 = c.original_sha256)
RETURNING c.original_sha256, c.copy_sha256, c.superseded_sha256
"""
# every (table, column) with a foreign key to media(sha256): a file goes only when none of them names it
MEDIA_REFERENCES = """
SELECT c.conrelid::regclass::text AS table_name, a.attname AS column_name FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
WHERE c.contype = 'f' AND c.confrelid = 'media'::regclass
"""
PURGE_DEAD_LETTERS = """
DELETE FROM dead_letters WHERE family = ANY(%(families)s) AND last_received_at < %(cutoff)s RETURNING topic
"""
# the broker still keeps the last retained snapshot of each (gateway, camera name, label): once nothing of that
# topic is kept here any more (no snapshot of that camera and label, no letter on it), it goes from the broker
# too (services/evidence/clears.py drains the queue). The topic is the camera capability's label snapshot
# shape under the gateway's family (<family>/<gateway>/<camera name>/<label>/snapshot: its topic root is its
# name), as migration camera_detections_0009's triggers build it.
CLEAR_RETAINED = """
INSERT INTO retained_clears (topic, reason)
SELECT DISTINCT format('%%s/%%s/%%s/%%s/snapshot', gd.family, g.gateway_id, g.camera_name, p.label), 'retention'
FROM unnest(%(devices)s::text[], %(labels)s::text[], %(gateways)s::text[]) AS p(device_id, label, gateway_id)
JOIN gateway_cameras g ON g.gateway_id = p.gateway_id AND g.device_id = p.device_id
JOIN devices gd ON gd.device_id = g.gateway_id
WHERE NOT EXISTS (SELECT 1 FROM camera_label_snapshots l
                  WHERE l.device_id = p.device_id AND l.label = p.label AND l.gateway_id = p.gateway_id)
UNION
SELECT DISTINCT t, 'retention' FROM unnest(%(topics)s::text[]) AS t
WHERE split_part(t, '/', 5) = 'snapshot' AND split_part(t, '/', 6) = '' AND split_part(t, '/', 4) <> ''
  AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.topic = t)
  AND NOT EXISTS (SELECT 1 FROM gateway_cameras g JOIN camera_label_snapshots l
                  ON l.device_id = g.device_id AND l.gateway_id = g.gateway_id
                  WHERE g.gateway_id = split_part(t, '/', 2) AND g.camera_name = split_part(t, '/', 3)
                    AND l.label = split_part(t, '/', 4))
ON CONFLICT (topic) DO NOTHING
"""
# held incidents this purge spares: an event of theirs (object or context) whose last word is past the cut-off,
# or one of their events' images taken before it; without the hold, the purge would have taken it
HELD_SPARED = """
SELECT count(*) FROM incidents i WHERE i.held_at IS NOT NULL AND (
    EXISTS (SELECT 1 FROM camera_events e WHERE e.event_id = ANY(i.tracks || i.context)
            AND coalesce(e.end_time, e.updated_at) < %(cutoff)s)
    OR EXISTS (SELECT 1 FROM camera_event_images m WHERE m.event_id = ANY(i.tracks || i.context)
               AND m.time < %(cutoff)s))
"""
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
    """What a purge deleted; in a dry run (``dry_run``), what it would delete: every count alike."""

    cutoff: datetime
    events: int = 0
    snapshots: int = 0
    label_snapshots: int = 0
    copies: int = 0
    media_rows: int = 0
    # files deleted from the media store after the commit; in a dry run, the files of the media rows that would go
    files: int = 0
    dead_letters: int = 0
    retained_clears: int = 0  # retained snapshot topics queued for deletion from the broker
    incidents_marked: int = 0
    # incidents under a legal hold whose events or images past the cut-off this purge kept (``HELD_SPARED``); a
    # held incident with nothing past the cut-off yet is not counted (it was ``held_incidents``, every held one)
    held_incidents_spared: int = 0
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
    families: tuple[str, ...] | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Purge what is older than ``days`` before ``now`` (see the module's docstring). ``families``: whose dead
    letters go; by default every family that provides personal images (``Capability.PERSONAL_IMAGES``)."""
    if families is None:
        families = family_names(Capability.PERSONAL_IMAGES)
    report = PurgeReport(cutoff=now - timedelta(days=days), dry_run=dry_run)
    gone: list[str] = []
    try:
        with conn.transaction():
            gone = _purge_rows(conn, report, now, families)
            if dry_run:
                raise DryRun
    except DryRun:
        # nothing was deleted: the files that would go are those the media rows that would go still have
        report.files = sum(1 for sha in gone if media.open(sha) is not None)
        return report
    for sha in gone:
        # claimed first: the same image arriving again right now (a camera re-sending it) keeps its file
        if delete_if_unnamed(conn, media, sha):
            report.files += 1
    logger.info("camera data purged", extra=report.as_dict())
    return report


def _purge_rows(
    conn: psycopg.Connection[Any], report: PurgeReport, now: datetime, families: tuple[str, ...]
) -> list[str]:
    params: dict[str, Any] = {"cutoff": report.cutoff, "now": now, "families": list(families)}
    report.held_incidents_spared = scalar(conn, HELD_SPARED, params)
    conn.execute(HELD_EVENTS)
    events = [r["event_id"] for r in conn.execute(PURGE_EVENTS, params).fetchall()]
    snaps = [r["media_sha256"] for r in conn.execute(PURGE_SNAPSHOTS, params).fetchall()]
    label_rows = conn.execute(PURGE_LABEL_SNAPSHOTS, params).fetchall()
    labels = [r["media_sha256"] for r in label_rows]
    report.events, report.snapshots, report.label_snapshots = len(events), len(snaps), len(labels)
    candidates = sorted(set(snaps) | set(labels))
    copies = conn.execute(PURGE_COPIES, {"candidates": candidates}).fetchall()
    report.copies = len(copies)
    candidates = sorted(set(candidates) | {s for c in copies for s in (c["copy_sha256"], c["superseded_sha256"]) if s})
    gone = unreferenced_media(conn, candidates)
    report.media_rows = len(gone)
    letters = [r["topic"] for r in conn.execute(PURGE_DEAD_LETTERS, params).fetchall()]
    report.dead_letters = len(letters)
    report.retained_clears = conn.execute(
        CLEAR_RETAINED,
        {
            "devices": [r["device_id"] for r in label_rows],
            "labels": [r["label"] for r in label_rows],
            "gateways": [r["gateway_id"] for r in label_rows],
            "topics": sorted({t for t in letters if may_be_retained(t)}),  # the SQL keeps the label snapshots
        },
    ).rowcount
    note = f"images and events older than {report.cutoff:%Y-%m-%d %H:%M} UTC purged (retention)"
    marked = conn.execute(MARK_INCIDENTS, {**params, "events": events, "note": note}).fetchall()
    report.incidents_marked = len(marked)
    counts = {k: v for k, v in report.as_dict().items() if k != "files"}  # the files go after the commit
    conn.execute(AUDIT, (now, ACTOR, json.dumps(counts)))
    return gone


def unreferenced_media(conn: psycopg.Connection[Any], candidates: list[str]) -> list[str]:
    if not candidates:
        return []
    refs = conn.execute(MEDIA_REFERENCES).fetchall()
    clauses = [
        sql.SQL("NOT EXISTS (SELECT 1 FROM {t} r WHERE r.{c} = m.sha256)").format(
            t=sql.SQL(r["table_name"]), c=sql.Identifier(r["column_name"])
        )
        for r in refs
    ]
    where = sql.SQL(" AND ").join([sql.SQL("m.sha256 = ANY(%(c)s)"), *clauses])
    query = sql.SQL("DELETE FROM media m WHERE {where} RETURNING m.sha256").format(where=where)
    return [r["sha256"] for r in conn.execute(query, {"c": candidates}).fetchall()]
