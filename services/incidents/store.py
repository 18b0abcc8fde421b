"""Incidents in the database: the rule's suspicions reconciled with what is stored (docs/incidents.md).

Reconciling, not appending: the worker recomputes the suspicions of the recent window each cycle and
this module makes the rows agree, writing only what changed (through ``lifecycle``, which owns every
write), so a redelivery, a duplicate or a second worker changes nothing. A new suspicion is an incident in
state ``suspected`` with a ``dumping_suspected`` domain event (the camera pack's alert rule, to
cleanliness); its object gone (every track ended) clears it and ends the event; a suspicion whose object
the camera later marks a false positive is withdrawn if nobody acted on it yet. What people decide
(confirm, dismiss, clear, close) is kept.

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

from services.incidents.lifecycle import RULE, clear, open_incident, reopen, retrack, withdraw
from services.incidents.rule import Policy, Suspicion, Track, suspicions, zones_of

TRACKS_SQL = (
    "SELECT event_id, device_id, label, box, current_zones, entered_zones, zone, start_time, updated_at, end_time, "
    "stationary, false_positive FROM camera_events WHERE start_time >= %s OR end_time IS NULL OR end_time >= %s"
)


def load_tracks(conn: psycopg.Connection[Any], since: datetime) -> list[Track]:
    rows = conn.execute(TRACKS_SQL, (since, since)).fetchall()
    return [
        Track(
            r["event_id"],
            r["device_id"],
            r["label"],
            tuple(r["box"]),
            zones_of(r["current_zones"], r["entered_zones"], r["zone"]),
            r["start_time"],
            r["updated_at"],
            r["end_time"],
            r["stationary"],
            r["false_positive"],
        )
        for r in rows
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
        r["key"]: r
        for r in conn.execute(
            "SELECT id, key, tracks, context, zone, cleared_at, state FROM incidents WHERE began_at >= %s", (since,)
        ).fetchall()
    }
    started = {t.event_id: t.start_time for t in tracks}
    for s in found:
        row = stored.pop(s.key, None)
        if row is None:
            open_incident(conn, s)
            changes["new"] += 1
            continue
        incident, had, cleared_at, state = row["id"], row["tracks"], row["cleared_at"], row["state"]
        context, zone = row["context"], row["zone"]
        if (list(had), list(context), zone) != (list(s.tracks), list(s.context), s.zone):
            joined = s.tracks[len(had) :]
            retrack(conn, incident, s, joined)
            if joined and state == "cleared" and s.cleared_at is None:  # a joined track is still open: it is back
                back = min((started[t] for t in joined if t in started), default=cleared_at)
                reopen(conn, incident, s, max(back, cleared_at), joined)
                changes["reopened"] += 1
            changes["updated"] += 1
        if s.cleared_at is not None and cleared_at is None:
            clear(conn, incident, RULE, "l'objet est parti (ses pistes se sont terminées)", s.cleared_at)
            changes["cleared"] += 1
    for row in stored.values():
        incident, key, state = row["id"], row["key"], row["state"]
        if state == "suspected" and key in false_positive:  # not a dumping after all, and nobody acted on it
            withdraw(conn, incident, "la caméra considère maintenant l'objet comme une fausse détection")
            changes["withdrawn"] += 1
    return changes


def refresh(conn: psycopg.Connection[Any], since: datetime, policy: Policy = Policy()) -> dict[str, int]:
    """The rule over the tracks of the window, reconciled (one transaction: the caller's)."""
    tracks = load_tracks(conn, since)
    return reconcile(conn, suspicions(tracks, policy), since, tracks)
