"""Incidents in the database: the rule's suspicions reconciled with what is stored (docs/incidents.md).

Reconciling, not appending: the worker recomputes the suspicions of the recent window each cycle and
this module makes the rows agree, writing only what changed, so a redelivery, a duplicate or a second
worker changes nothing. A new suspicion is an incident in state ``suspected`` with a ``dumping_suspected``
domain event (the camera pack's alert rule, to cleanliness); its object gone (every track ended) clears
it and ends the event; a suspicion whose object the camera later marks a false positive is withdrawn if
nobody acted on it yet. What people decide (confirm, dismiss, clear, close) is kept.

An incident stored cleared that gains a track still open (the tracker's successor for the object, processed
after the clearance: a gateway reconnecting, ingest behind) is reopened: the object is back. It returns to
the state it was cleared from and its event is raised again from the moment the object was back, so its
alert is a new one (the cleared alert stays as it was; issue 19: it had stayed cleared, nobody told).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from core.domain_events import end_event, raise_event, withdraw_event
from services.incidents.lifecycle import EVENT_TYPE
from services.incidents.rule import Policy, Suspicion, Track, suspicions, zones_of

RULE = "rule"

TRACKS_SQL = (
    "SELECT event_id, device_id, label, box, current_zones, entered_zones, zone, start_time, updated_at, end_time, "
    "stationary, false_positive FROM camera_events WHERE start_time >= %s OR end_time IS NULL OR end_time >= %s"
)


def load_tracks(conn: psycopg.Connection[Any], since: datetime) -> list[Track]:
    rows = conn.execute(TRACKS_SQL, (since, since)).fetchall()
    return [
        Track(r[0], r[1], r[2], tuple(r[3]), zones_of(r[4], r[5], r[6]), *r[7:12])  # type: ignore[arg-type]
        for r in (tuple(row.values()) if isinstance(row, dict) else row for row in rows)
    ]


def reconcile(
    conn: psycopg.Connection[Any], found: Sequence[Suspicion], since: datetime, tracks: Sequence[Track] = ()
) -> dict[str, int]:
    """Make the stored incidents that began since ``since`` agree with ``found``; returns what changed.
    A stored suspicion the rule no longer finds is withdrawn only when its first track is now a false
    positive (``tracks``): an object that moved a little, and so is not stationary for a while, stays."""
    false_positive = {t.event_id for t in tracks if t.false_positive}
    changes = {"new": 0, "updated": 0, "cleared": 0, "withdrawn": 0, "reopened": 0}
    stored = {
        r[1]: r
        for r in conn.execute(
            "SELECT id, key, tracks, context, zone, cleared_at, state FROM incidents WHERE began_at >= %s", (since,)
        ).fetchall()
    }
    started = {t.event_id: t.start_time for t in tracks}
    for s in found:
        row = stored.pop(s.key, None)
        if row is None:
            _insert(conn, s)
            changes["new"] += 1
            continue
        incident, _, had, context, zone, cleared_at, state = row
        if (list(had), list(context), zone) != (list(s.tracks), list(s.context), s.zone):
            conn.execute(
                "UPDATE incidents SET tracks = %s, context = %s, zone = %s, updated_at = now() WHERE id = %s",
                (list(s.tracks), list(s.context), s.zone, incident),
            )
            joined = s.tracks[len(had) :]
            if joined:
                _timeline(conn, incident, "joined", RULE, f"tracks {', '.join(joined)}")
                if state == "cleared" and s.cleared_at is None:  # a joined track is still open: it is back
                    back = min((started[t] for t in joined if t in started), default=cleared_at)
                    _reopen(conn, incident, s, max(back, cleared_at), joined)
                    changes["reopened"] += 1
            changes["updated"] += 1
        if s.cleared_at is not None and cleared_at is None:
            clear(conn, incident, RULE, "the object is gone (its tracks ended)", s.cleared_at)
            changes["cleared"] += 1
    for incident, key, _, _, _, _, state in stored.values():
        if state == "suspected" and key in false_positive:  # not a dumping after all, and nobody acted on it
            conn.execute("UPDATE incidents SET state = 'dismissed', updated_at = now() WHERE id = %s", (incident,))
            _timeline(conn, incident, "withdrawn", RULE, "the camera now takes the object for a false positive")
            withdraw_event(conn, type=EVENT_TYPE, key=f"incident:{incident}")
            changes["withdrawn"] += 1
    return changes


def refresh(conn: psycopg.Connection[Any], since: datetime, policy: Policy = Policy()) -> dict[str, int]:
    """The rule over the tracks of the window, reconciled (one transaction: the caller's)."""
    tracks = load_tracks(conn, since)
    return reconcile(conn, suspicions(tracks, policy), since, tracks)


def clear(conn: psycopg.Connection[Any], incident: int, actor: str, note: str, at: datetime | None = None) -> None:
    """The object is gone: cleared (from suspected or confirmed), the time kept, the event ended."""
    row = conn.execute(
        "UPDATE incidents SET cleared_at = coalesce(cleared_at, coalesce(%s, now())), "
        "state = CASE WHEN state IN ('suspected', 'confirmed') THEN 'cleared' ELSE state END, updated_at = now() "
        "WHERE id = %s RETURNING cleared_at",
        (at, incident),
    ).fetchone()
    if row is None:
        return
    _timeline(conn, incident, "cleared", actor, note)
    end_event(conn, type=EVENT_TYPE, key=f"incident:{incident}", ended_at=row[0])


def _insert(conn: psycopg.Connection[Any], s: Suspicion) -> None:
    row = conn.execute(
        "INSERT INTO incidents (key, device_id, label, zone, tracks, context, began_at, suspected_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING id",
        (s.key, s.device_id, s.label, s.zone, list(s.tracks), list(s.context), s.began_at, s.suspected_at),
    ).fetchone()
    if row is None:
        return  # another worker inserted it in the meantime
    incident = int(row[0])
    _timeline(conn, incident, "suspected", RULE, f"{s.label} still in {s.zone or 'the scene'} since {s.began_at:%H:%M}")
    _raise(conn, incident, s, s.suspected_at, f"since {s.began_at:%Y-%m-%d %H:%M} UTC")
    if s.cleared_at is not None:
        clear(conn, incident, RULE, "the object is gone (its tracks ended)", s.cleared_at)


def _reopen(conn: psycopg.Connection[Any], incident: int, s: Suspicion, back: datetime, joined: Sequence[str]) -> None:
    """The object of a cleared incident is back: the state it was cleared from (confirmed, if an agent had
    confirmed it), no clearance, its event raised again from ``back`` (a new alert: the cleared one stays)."""
    confirmed = conn.execute(
        "SELECT 1 FROM incident_timeline WHERE incident_id = %s AND kind = 'confirmed'", (incident,)
    ).fetchone()
    conn.execute(
        "UPDATE incidents SET state = %s, cleared_at = NULL, updated_at = now() WHERE id = %s AND state = 'cleared'",
        ("confirmed" if confirmed else "suspected", incident),
    )
    _timeline(conn, incident, "reopened", RULE, f"the object is back (tracks {', '.join(joined)})")
    _raise(conn, incident, s, back, f"back since {back:%Y-%m-%d %H:%M} UTC")


def _raise(conn: psycopg.Connection[Any], incident: int, s: Suspicion, at: datetime, since: str) -> None:
    raise_event(
        conn,
        type=EVENT_TYPE,
        key=f"incident:{incident}",
        device_id=s.device_id,
        family="karroad",
        occurred_at=at,
        summary=f"{s.label} left in {s.zone or 'view'} {since} (incident {incident})",
        attributes={"incident_id": incident, "label": s.label, "zone": s.zone, "context": list(s.context)},
        raised_by="incidents",
    )


def _timeline(conn: psycopg.Connection[Any], incident: int, kind: str, actor: str, note: str | None) -> None:
    conn.execute(
        "INSERT INTO incident_timeline (incident_id, kind, actor, note) VALUES (%s, %s, %s, %s)",
        (incident, kind, actor, note),
    )
