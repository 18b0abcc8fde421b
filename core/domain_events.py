"""Domain events: what a part of the platform found that a service may have to act on (a pipe defect of
grade 4 in the vision's observations, a suspected dumping in the cameras' incidents).

The part that finds it raises the event in its own transaction, keyed on what it is about (``type`` and
``key``, e.g. ``pipe_defect`` / ``observation:42``): raising it again updates it (a reviewer recoded the
defect), ending it says the thing is over (the dumped couch was cleared), withdrawing it says it was
never true (the observation was rejected). The alerts worker turns events into alerts through the rules
of kind ``event`` (services/alerts/rules.py): one alert per event, whatever the number of raises. Core
has no idea which services listen: it writes the row and wakes them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import scalar

CHANNEL = "tlab_domain_events"
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")
MAX_ATTRIBUTES_BYTES = 8192  # events are facts about a thing, not a place to store the thing


class DomainEventError(ValueError):
    """The event is malformed (a programming error in the part that raises it)."""


def valid_event_type(value: str) -> bool:
    """Whether ``value`` is an event type as a whole (``$`` alone also matches before a final newline)."""
    return EVENT_TYPE.fullmatch(value) is not None


def raise_event(
    conn: psycopg.Connection[Any],
    *,
    type: str,
    key: str,
    device_id: str,
    family: str,
    occurred_at: datetime,
    summary: str,
    attributes: dict[str, Any] | None = None,
    raised_by: str,
) -> int:
    """Record (or update) the event and wake the listeners when the transaction commits; returns its id.
    Raising an ended or withdrawn event again opens it again."""
    if not valid_event_type(type):
        raise DomainEventError(f"event type {type!r} must match {EVENT_TYPE.pattern}")
    if not 0 < len(key) <= 200:
        raise DomainEventError("event key must be 1-200 characters")
    try:
        size = len(json.dumps(attributes or {}, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise DomainEventError(f"event attributes are not JSON: {exc}") from exc
    if size > MAX_ATTRIBUTES_BYTES:
        raise DomainEventError(f"event attributes over {MAX_ATTRIBUTES_BYTES} bytes")
    body = Jsonb(attributes or {})
    event_id = scalar(
        conn,
        "INSERT INTO domain_events (type, key, device_id, family, occurred_at, summary, attributes, raised_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (type, key) DO UPDATE SET device_id = EXCLUDED.device_id, family = EXCLUDED.family, "
        "occurred_at = EXCLUDED.occurred_at, summary = EXCLUDED.summary, attributes = EXCLUDED.attributes, "
        "raised_by = EXCLUDED.raised_by, ended_at = NULL, withdrawn = false, changed_at = now() RETURNING id",
        (type, key, device_id, family, occurred_at, summary[:500], body, raised_by),
    )
    _wake(conn)
    return int(event_id)


def end_event(conn: psycopg.Connection[Any], *, type: str, key: str, ended_at: datetime) -> bool:
    """The thing is over (its alert clears at ``ended_at``); False if there is no such open event."""
    cur = conn.execute(
        "UPDATE domain_events SET ended_at = greatest(%s, occurred_at), changed_at = now() "
        "WHERE type = %s AND key = %s AND ended_at IS NULL AND NOT withdrawn",
        (ended_at, type, key),
    )
    if cur.rowcount:
        _wake(conn)
    return bool(cur.rowcount)


def withdraw_event(conn: psycopg.Connection[Any], *, type: str, key: str) -> bool:
    """The event was not true (a person rejected it): its alert, if any, is retracted."""
    cur = conn.execute(
        "UPDATE domain_events SET withdrawn = true, changed_at = now() WHERE type = %s AND key = %s AND NOT withdrawn",
        (type, key),
    )
    if cur.rowcount:
        _wake(conn)
    return bool(cur.rowcount)


def _wake(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"NOTIFY {CHANNEL}")
