"""An alert's timeline and outbox: every change is one event row and one outbox row (what the deliveries
send), written in the transaction of the change itself."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from services.alerts.queries import ALERT_COLUMNS, column_of

EVALUATOR = "evaluator"


def record_event(
    conn: psycopg.Connection[Any], alert_id: int, kind: str, detail: dict[str, Any], actor: str = EVALUATOR
) -> int:
    """Append ``kind`` to the alert's timeline and its outbox (the alert as it is now); returns the event id."""
    event = conn.execute(
        "INSERT INTO alert_events (alert_id, kind, actor, detail) VALUES (%s, %s, %s, %s) RETURNING id",
        (alert_id, kind, actor, Jsonb(detail)),
    ).fetchone()
    alert = conn.execute(
        f"SELECT row_to_json(a) FROM (SELECT {ALERT_COLUMNS} FROM alerts WHERE id = %s) a", (alert_id,)
    ).fetchone()
    event_id = int(column_of(event, "id", 0))
    body = {"event": kind, "actor": actor, "alert": column_of(alert, "row_to_json", 0)}
    conn.execute(
        "INSERT INTO alert_outbox (event_id, alert_id, service, body) "
        "SELECT %s, %s, service, %s FROM alerts WHERE id = %s",
        (event_id, alert_id, Jsonb(body), alert_id),
    )
    return event_id
