"""An alert's timeline and outbox: every change is one event row and one outbox row (what the deliveries
send), written in the transaction of the change itself."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import scalar
from services.alerts.queries import ALERT_COLUMNS

EVALUATOR = "evaluator"
OUTBOX_LOCK = 0x6F7574626F78  # "outbox"

# the first silence active now whose every given key matches the alert (labels: all of them on the alert)
SILENCE = """
SELECT s.id FROM alert_silences s JOIN alerts a ON a.id = %(id)s
WHERE now() >= s.starts_at AND now() < s.ends_at
  AND (s.rule_name IS NULL OR s.rule_name = a.rule_name)
  AND (s.device_id IS NULL OR s.device_id = a.device_id)
  AND (s.service IS NULL OR s.service = a.service)
  AND (s.labels IS NULL OR a.labels @> s.labels)
ORDER BY s.id LIMIT 1
"""


def lock_outbox(conn: psycopg.Connection[Any]) -> None:
    """Outbox ids must be handed out in commit order, or a reader could pass an id whose transaction
    commits later and never see it: every transaction that changes alerts takes this lock (held until its
    commit) *before* touching an alert row, so no two of them can wait for each other. Alert changes are
    few and their transactions short."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (OUTBOX_LOCK,))


def record_event(
    conn: psycopg.Connection[Any], alert_id: int, kind: str, detail: dict[str, Any], actor: str = EVALUATOR
) -> int:
    """Append ``kind`` to the alert's timeline and its outbox (the alert as it is now); returns the event id.
    A silence active now that matches the alert marks the outbox row (the deliveries skip it) and is
    named in the event's detail."""
    lock_outbox(conn)  # taken already by a well-behaved caller, before its first alert row
    silenced_by = scalar(conn, SILENCE, {"id": alert_id})
    if silenced_by is not None:
        detail = {**detail, "silenced_by": silenced_by}
    event_id = int(
        scalar(
            conn,
            "INSERT INTO alert_events (alert_id, kind, actor, detail) VALUES (%s, %s, %s, %s) RETURNING id",
            (alert_id, kind, actor, Jsonb(detail)),
        )
    )
    alert = scalar(
        conn, f"SELECT row_to_json(a) FROM (SELECT {ALERT_COLUMNS} FROM alerts WHERE id = %s) a", (alert_id,)
    )
    body = {"event": kind, "actor": actor, "alert": alert}
    conn.execute(
        "INSERT INTO alert_outbox (event_id, alert_id, service, body, silenced_by) "
        "SELECT %s, %s, service, %s, %s FROM alerts WHERE id = %s",
        (event_id, alert_id, Jsonb(body), silenced_by, alert_id),
    )
    return event_id
