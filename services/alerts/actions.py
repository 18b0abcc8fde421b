"""What people do with an alert: acknowledge it, assign it, resolve it by hand. Each is one conditional
UPDATE (so two people acting at once cannot both win) and a timeline event, in one transaction.

A person resolving an alert whose condition still holds closes it; the evaluator does not open another
for the same episode: a new alert needs the condition to clear and come back (docs/alerts.md).
"""

from __future__ import annotations

from typing import Any

import psycopg

from core.db import scalar
from services.alerts.timeline import lock_outbox, record_event


class ActionRefused(ValueError):
    """The alert is not in a state that allows this action; the message says which state it is in."""


def _act(
    conn: psycopg.Connection[Any], alert_id: int, assignments: str, allowed: tuple[str, ...], params: dict[str, Any]
) -> None:
    row = conn.execute(
        f"UPDATE alerts SET {assignments}, updated_at = now() WHERE id = %(id)s AND state = ANY(%(allowed)s) "
        "RETURNING id",
        {**params, "id": alert_id, "allowed": list(allowed)},
    ).fetchone()
    if row is None:
        current = scalar(conn, "SELECT state FROM alerts WHERE id = %s", (alert_id,)) or "absent"
        raise ActionRefused(f"alert {alert_id} is {current}")


def acknowledge(conn: psycopg.Connection[Any], alert_id: int, actor: str, note: str | None) -> None:
    with conn.transaction():
        lock_outbox(conn)
        _act(
            conn,
            alert_id,
            "state = 'acknowledged', acknowledged_by = %(actor)s, acknowledged_at = now()",
            ("firing",),
            {"actor": actor},
        )
        record_event(conn, alert_id, "acknowledged", {"note": note}, actor=actor)


def assign(conn: psycopg.Connection[Any], alert_id: int, actor: str, assignee: str | None) -> None:
    with conn.transaction():
        lock_outbox(conn)
        _act(conn, alert_id, "assignee = %(assignee)s", ("firing", "acknowledged"), {"assignee": assignee})
        record_event(conn, alert_id, "assigned", {"assignee": assignee}, actor=actor)


def resolve_by_hand(conn: psycopg.Connection[Any], alert_id: int, actor: str, note: str | None) -> None:
    with conn.transaction():
        lock_outbox(conn)
        _act(
            conn,
            alert_id,
            "state = 'resolved', resolution = 'by_hand', resolved_by = %(actor)s, resolved_at = now()",
            ("firing", "acknowledged"),
            {"actor": actor},
        )
        record_event(conn, alert_id, "resolved_by_hand", {"note": note}, actor=actor)
