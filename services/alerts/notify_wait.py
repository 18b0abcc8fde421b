"""Whether an outbox event may be sent to webhooks and MQTT yet: a new alert is held back for
``TLAB_ALERT_NOTIFY_WAIT_S`` (Alertmanager's ``group_wait``), and one retracted or resolved within that wait
is never sent, nor is anything else about it (Alertmanager's notify pipeline likewise sends no resolved
notification for alerts whose firing was never notified).

Seen on ``./lab run`` (issue 19): a critical pipe-defect alert fired and was retracted 2-3 s later, an H2S
alert fired and cleared within 0.2 s; both reached the webhooks and the on-site displays twice. The API
keeps the truth (the alert and its timeline are listed as they happened); only the notifications wait.

The verdict is a function of the alert's timeline (the database's clock), not of the channel: every
channel and every deliverer process decides the same, and a restart decides again the same way. A channel
walks the outbox in order, so an event waiting holds the events after it (by at most the wait).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg

ENDINGS = ("cleared", "retracted", "resolved_by_hand")


@dataclass(frozen=True)
class Verdict:
    action: Literal["send", "skip", "wait"]
    wait_s: float = 0.0  # for "wait": how long until it can be decided


def verdict(conn: psycopg.Connection[Any], alert_id: int, wait_s: float) -> Verdict:
    """``send`` the alert's events (it lasted the wait), ``skip`` them (it ended within the wait: never told),
    or ``wait`` (it began less than the wait ago and has not ended)."""
    if wait_s <= 0:
        return Verdict("send")
    row = conn.execute(
        "SELECT extract(epoch FROM f.at + make_interval(secs => %(w)s) - now()) AS remaining, EXISTS (SELECT 1 "
        "FROM alert_events e WHERE e.alert_id = %(id)s AND e.kind = ANY(%(endings)s) "
        "AND e.at < f.at + make_interval(secs => %(w)s)) AS ended "
        "FROM (SELECT min(at) AS at FROM alert_events WHERE alert_id = %(id)s AND kind = 'fired') f",
        {"id": alert_id, "w": wait_s, "endings": list(ENDINGS)},
    ).fetchone()
    remaining, ended = (row["remaining"], row["ended"]) if row else (None, None)
    if remaining is None:  # no 'fired' event (not an alert the evaluator raised): nothing to hold
        return Verdict("send")
    if ended:
        return Verdict("skip")
    if remaining > 0:
        return Verdict("wait", float(remaining))
    return Verdict("send")
