"""What is read about incidents (docs/incidents.md): the list, one incident with its timeline, its events and
their evidence. The API's routes read through here and write through ``lifecycle``; nothing here writes.

Rows are dicts (``core.db``: the API's pool and a worker's connection alike).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from core.db import scalar

COLUMNS = (
    "id, device_id, label, zone, state, began_at, suspected_at, cleared_at, tracks, context, created_at, updated_at, "
    "held_at, held_by, hold_note, evidence_purged_at"
)
LIST_KEY = ("began_at", "id")

# an incident's events, each with its images (camera_event_images: its own snapshots, and its camera's of its
# label while it lasted) and their privacy copies
EVENTS = """
SELECT e.event_id, CASE WHEN e.event_id = ANY(%(tracks)s) THEN 'object' ELSE 'context' END AS role,
    e.label, e.start_time, e.end_time, e.plate, coalesce((
        SELECT json_agg(json_build_object('time', i.time, 'sha', i.media_sha256, 'copy', c.copy_sha256,
            'error', c.error) ORDER BY i.time)
        FROM camera_event_images i LEFT JOIN evidence_copies c ON c.original_sha256 = i.media_sha256
        WHERE i.event_id = e.event_id), '[]') AS evidence
FROM camera_events e WHERE e.event_id = ANY(%(all)s) ORDER BY e.start_time
"""


def list_incidents(
    conn: psycopg.Connection[Any],
    *,
    since: datetime,
    state: str | None,
    device_id: str | None,
    label: str | None,
    limit: int,
    offset: int,
    keyset: sql.Composable,
    key_params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Incidents begun at or after ``since``, most recent first; ``keyset`` (with ``key_params``): the
    caller's cursor condition on ``LIST_KEY``."""
    query = sql.SQL(
        "SELECT " + COLUMNS + " FROM incidents WHERE began_at >= %(since)s "
        "AND (%(state)s::text IS NULL OR state = %(state)s) AND (%(device)s::text IS NULL OR device_id = %(device)s) "
        "AND (%(label)s::text IS NULL OR label = %(label)s){keyset} "
        "ORDER BY began_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(keyset=keyset)
    params = {"since": since, "state": state, "device": device_id, "label": label, "limit": limit, "offset": offset}
    return conn.execute(query, {**params, **key_params}).fetchall()


def incident(conn: psycopg.Connection[Any], incident_id: int) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {COLUMNS} FROM incidents WHERE id = %s", (incident_id,)).fetchone()


def timeline(conn: psycopg.Connection[Any], incident_id: int) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT at, kind, actor, note FROM incident_timeline WHERE incident_id = %s ORDER BY at, id", (incident_id,)
    ).fetchall()


def events(conn: psycopg.Connection[Any], tracks: list[str], context: list[str]) -> list[dict[str, Any]]:
    """The incident's events (its tracks: ``role`` object; its context: ``role`` context), each with its
    ``evidence``: images (``sha``), their privacy copies (``copy``, or the copy's ``error``)."""
    return conn.execute(EVENTS, {"tracks": tracks, "all": tracks + context}).fetchall()


def evidence_of(conn: psycopg.Connection[Any], incident_id: int) -> set[str] | None:
    """The SHA-256 of every image that is evidence of the incident; None: no such incident."""
    row = conn.execute("SELECT tracks, context FROM incidents WHERE id = %s", (incident_id,)).fetchone()
    if row is None:
        return None
    return {item["sha"] for e in events(conn, row["tracks"], row["context"]) for item in e["evidence"]}


def content_type(conn: psycopg.Connection[Any], sha256: str) -> str | None:
    """The stored medium's content type; None: not (or no longer) stored."""
    return scalar(conn, "SELECT content_type FROM media WHERE sha256 = %s", (sha256,))
