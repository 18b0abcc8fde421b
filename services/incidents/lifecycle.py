"""Every write to incidents (docs/incidents.md). What people decide: confirm, dismiss, clear, close, hold,
release, each written to its timeline with who and why (the API's routes call these; no worker code here);
and what the rule finds (``store.reconcile`` decides, these write): a new suspicion, its tracks, its
clearance, its reopening, its withdrawal.

suspected -> confirmed | dismissed; suspected | confirmed -> cleared (the object is gone); cleared |
dismissed -> closed. Dismissing withdraws its domain event (the cleanliness alert is retracted); clearing
ends it (the alert clears). Software pre-selects, an agent decides (CNIL, 2022): nothing here is automatic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg

from core.db import scalar
from core.domain_events import end_event, raise_event, withdraw_event
from core.french import object_name, since
from services.incidents.rule import Suspicion

EVENT_TYPE = "dumping_suspected"
RULE = "rule"  # the actor of what the rule wrote
Action = Literal["confirm", "dismiss", "clear", "close"]
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({"suspected"}), "confirmed"),
    "dismiss": (frozenset({"suspected", "confirmed"}), "dismissed"),
    "clear": (frozenset({"suspected", "confirmed"}), "cleared"),
    "close": (frozenset({"cleared", "dismissed"}), "closed"),
}


class NotAllowed(ValueError):
    """The incident is not in a state the action applies to; the message says which it is in."""


def act(conn: psycopg.Connection[Any], incident: int, action: Action, actor: str, note: str | None) -> bool:
    """Apply ``action`` (False if there is no such incident); raises NotAllowed from the wrong state."""
    row = conn.execute("SELECT state FROM incidents WHERE id = %s FOR UPDATE", (incident,)).fetchone()
    if row is None:
        return False
    state = row["state"]
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise NotAllowed(f"incident {incident} is {state}; {action} applies to {' or '.join(sorted(allowed))}")
    cleared_at = scalar(
        conn,
        "UPDATE incidents SET state = %s, updated_at = now(), "
        "cleared_at = CASE WHEN %s = 'cleared' THEN coalesce(cleared_at, now()) ELSE cleared_at END "
        "WHERE id = %s RETURNING cleared_at",
        (target, target, incident),
    )
    _timeline(conn, incident, target, actor, note)
    key = f"incident:{incident}"
    if target == "dismissed":
        withdraw_event(conn, type=EVENT_TYPE, key=key)
    elif target == "cleared":
        end_event(conn, type=EVENT_TYPE, key=key, ended_at=cleared_at)
    return True


def hold(conn: psycopg.Connection[Any], incident: int, actor: str, note: str) -> bool:
    """Police place a legal hold: the incident's evidence outlives the retention period until released."""
    return _set_hold(conn, incident, actor, note, held=True)


def release(conn: psycopg.Connection[Any], incident: int, actor: str, note: str | None) -> bool:
    """The hold is lifted: the evidence is purged at the next purge if it is past the retention period."""
    return _set_hold(conn, incident, actor, note, held=False)


def _set_hold(conn: psycopg.Connection[Any], incident: int, actor: str, note: str | None, *, held: bool) -> bool:
    row = conn.execute(
        "SELECT held_at IS NOT NULL AS held FROM incidents WHERE id = %s FOR UPDATE", (incident,)
    ).fetchone()
    if row is None:
        return False
    is_held = row["held"]
    if is_held == held:
        raise NotAllowed(f"incident {incident} is {'already' if held else 'not'} under a legal hold")
    conn.execute(
        "UPDATE incidents SET held_at = CASE WHEN %(h)s THEN now() END, held_by = CASE WHEN %(h)s THEN %(a)s END, "
        "hold_note = CASE WHEN %(h)s THEN %(n)s END, updated_at = now() WHERE id = %(i)s",
        {"h": held, "a": actor, "n": note, "i": incident},
    )
    _timeline(conn, incident, "held" if held else "released", actor, note)
    return True


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
    end_event(conn, type=EVENT_TYPE, key=f"incident:{incident}", ended_at=row["cleared_at"])


def open_incident(conn: psycopg.Connection[Any], s: Suspicion) -> None:
    """A new suspicion: an incident ``suspected``, its event raised (cleared at once if its object is gone)."""
    inserted = scalar(
        conn,
        "INSERT INTO incidents (key, device_id, label, zone, tracks, context, began_at, suspected_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING id",
        (s.key, s.device_id, s.label, s.zone, list(s.tracks), list(s.context), s.began_at, s.suspected_at),
    )
    if inserted is None:
        return  # another worker inserted it in the meantime
    incident = int(inserted)
    _timeline(conn, incident, "suspected", RULE, f"« {object_name(s.label)} » toujours {_where(s)} {since(s.began_at)}")
    _raise(conn, incident, s, s.suspected_at, since(s.began_at))
    if s.cleared_at is not None:
        clear(conn, incident, RULE, "l'objet est parti (ses pistes se sont terminées)", s.cleared_at)


def retrack(conn: psycopg.Connection[Any], incident: int, s: Suspicion, joined: Sequence[str]) -> None:
    """The rule now sees the incident with other tracks, context or zone; ``joined``: its new tracks."""
    conn.execute(
        "UPDATE incidents SET tracks = %s, context = %s, zone = %s, updated_at = now() WHERE id = %s",
        (list(s.tracks), list(s.context), s.zone, incident),
    )
    if joined:
        _timeline(conn, incident, "joined", RULE, f"pistes {', '.join(joined)}")


def withdraw(conn: psycopg.Connection[Any], incident: int, note: str) -> None:
    """A suspicion nobody acted on is not one after all: dismissed by the rule, its event withdrawn."""
    conn.execute("UPDATE incidents SET state = 'dismissed', updated_at = now() WHERE id = %s", (incident,))
    _timeline(conn, incident, "withdrawn", RULE, note)
    withdraw_event(conn, type=EVENT_TYPE, key=f"incident:{incident}")


def reopen(conn: psycopg.Connection[Any], incident: int, s: Suspicion, back: datetime, joined: Sequence[str]) -> None:
    """The object of a cleared incident is back: the state it was cleared from (confirmed, if an agent had
    confirmed it), no clearance, its event raised again from ``back`` (a new alert: the cleared one stays)."""
    confirmed = scalar(
        conn,
        "SELECT EXISTS (SELECT 1 FROM incident_timeline WHERE incident_id = %s AND kind = 'confirmed')",
        (incident,),
    )
    conn.execute(
        "UPDATE incidents SET state = %s, cleared_at = NULL, updated_at = now() WHERE id = %s AND state = 'cleared'",
        ("confirmed" if confirmed else "suspected", incident),
    )
    _timeline(conn, incident, "reopened", RULE, f"l'objet est de retour (pistes {', '.join(joined)})")
    _raise(conn, incident, s, back, f"de retour {since(back)}")


def _where(s: Suspicion) -> str:
    return f"dans la zone « {s.zone} »" if s.zone else "dans le champ de la caméra"


def _raise(conn: psycopg.Connection[Any], incident: int, s: Suspicion, at: datetime, when: str) -> None:
    """The incident's domain event, under its camera's family (whichever camera family sent the events: the
    alert rules select on it)."""
    device = conn.execute("SELECT family FROM devices WHERE device_id = %s", (s.device_id,)).fetchone()
    if device is None:  # ingest registers a device in the batch that stores its first record: never here
        raise LookupError(f"incident {incident}: camera {s.device_id!r} is not registered")
    raise_event(
        conn,
        type=EVENT_TYPE,
        key=f"incident:{incident}",
        device_id=s.device_id,
        family=device["family"],
        occurred_at=at,
        summary=f"Dépôt suspect « {object_name(s.label)} » {_where(s)} {when} (incident {incident})",
        attributes={"incident_id": incident, "label": s.label, "zone": s.zone, "context": list(s.context)},
        raised_by="incidents",
    )


def _timeline(conn: psycopg.Connection[Any], incident: int, kind: str, actor: str, note: str | None) -> None:
    conn.execute(
        "INSERT INTO incident_timeline (incident_id, kind, actor, note) VALUES (%s, %s, %s, %s)",
        (incident, kind, actor, note),
    )
