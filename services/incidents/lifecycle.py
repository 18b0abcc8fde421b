"""What people decide about an incident (docs/incidents.md): confirm, dismiss, clear, close, each written
to its timeline with who and why. Shared by the API's routes (no worker code here).

suspected -> confirmed | dismissed; suspected | confirmed -> cleared (the object is gone); cleared |
dismissed -> closed. Dismissing withdraws its domain event (the cleanliness alert is retracted); clearing
ends it (the alert clears). Software pre-selects, an agent decides (CNIL, 2022): nothing here is automatic.
"""

from __future__ import annotations

from typing import Any, Literal

import psycopg

from core.domain_events import end_event, withdraw_event

EVENT_TYPE = "dumping_suspected"
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
    state = row["state"] if isinstance(row, dict) else row[0]
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise NotAllowed(f"incident {incident} is {state}; {action} applies to {' or '.join(sorted(allowed))}")
    cleared = conn.execute(
        "UPDATE incidents SET state = %s, updated_at = now(), "
        "cleared_at = CASE WHEN %s = 'cleared' THEN coalesce(cleared_at, now()) ELSE cleared_at END "
        "WHERE id = %s RETURNING cleared_at",
        (target, target, incident),
    ).fetchone()
    conn.execute(
        "INSERT INTO incident_timeline (incident_id, kind, actor, note) VALUES (%s, %s, %s, %s)",
        (incident, target, actor, note),
    )
    key = f"incident:{incident}"
    if target == "dismissed":
        withdraw_event(conn, type=EVENT_TYPE, key=key)
    elif target == "cleared":
        at = cleared["cleared_at"] if isinstance(cleared, dict) else cleared[0]  # type: ignore[index]
        end_event(conn, type=EVENT_TYPE, key=key, ended_at=at)
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
    is_held = row["held"] if isinstance(row, dict) else row[0]
    if is_held == held:
        raise NotAllowed(f"incident {incident} is {'already' if held else 'not'} under a legal hold")
    conn.execute(
        "UPDATE incidents SET held_at = CASE WHEN %(h)s THEN now() END, held_by = CASE WHEN %(h)s THEN %(a)s END, "
        "hold_note = CASE WHEN %(h)s THEN %(n)s END, updated_at = now() WHERE id = %(i)s",
        {"h": held, "a": actor, "n": note, "i": incident},
    )
    conn.execute(
        "INSERT INTO incident_timeline (incident_id, kind, actor, note) VALUES (%s, %s, %s, %s)",
        (incident, "held" if held else "released", actor, note),
    )
    return True
