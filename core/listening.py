"""A worker's database loop: connect, LISTEN, work, wait for a NOTIFY (or ``poll_s``), and reconnect with
back-off after a database error (logged, never raised: the worker outlives a database restart).

Every database worker of the platform runs on it (the alert evaluator, the webhook and MQTT deliveries,
the replay requests, the vision, the incidents, the evidence, the broker-credentials writer). A worker that
must outlive more than the database's errors (the credentials writer: a file not writable) says which
(``survives``); one that works only when told (``only_when_notified``) is not woken by the poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from core.db import connect
from core.errors import first_line

logger = logging.getLogger(__name__)


def listen_and_work(
    database_url: str,
    channel: str | Sequence[str],
    work: Callable[[psycopg.Connection[Any]], bool],
    stop: threading.Event,
    *,
    ready: threading.Event | None = None,
    poll_s: float,
    name: str,
    on_connect: Callable[[psycopg.Connection[Any]], object] | None = None,
    first_retry_s: float = 1.0,
    survives: tuple[type[Exception], ...] = (psycopg.Error,),
    only_when_notified: bool = False,
) -> None:
    """Run ``work`` until ``stop``; it returns True when more may be waiting (no wait before the next call).
    ``channel``: what to LISTEN to (none: the wait is a plain ``poll_s`` sleep). ``on_connect`` runs once per
    connection; ``ready`` is set while connected. After an error of a ``survives`` kind (logged, with its
    traceback when it is not the database's) the retry waits ``first_retry_s``, doubling to 30 s while the
    error lasts. ``only_when_notified``: after a wait, ``work`` runs only if a NOTIFY came (those that come
    together are one call). The connection is ``core.db.connect``'s: autocommit, rows as dicts."""
    channels = [channel] if isinstance(channel, str) else list(channel)
    delay = first_retry_s
    while not stop.is_set():
        try:
            with connect(database_url) as conn:
                for listened in channels:
                    conn.execute(f"LISTEN {listened}")
                if on_connect is not None:
                    on_connect(conn)
                if ready is not None and not stop.is_set():
                    ready.set()
                delay = first_retry_s
                notified = not only_when_notified  # the first call: the loop's own work, unless told
                while not stop.is_set():
                    if (notified or not only_when_notified) and work(conn):
                        continue
                    if channels:
                        # what arrived together (a transaction's NOTIFYs are sent on commit) is one wake-up
                        notified = bool(list(conn.notifies(timeout=poll_s, stop_after=1)))
                    else:
                        stop.wait(poll_s)
        except survives as exc:
            if ready is not None:
                ready.clear()
            database = isinstance(exc, psycopg.Error)
            logger.warning(
                f"{name}: {'database error' if database else 'error'}",
                exc_info=not database,
                extra={"error": first_line(exc), "retry_s": delay},
            )
            stop.wait(delay)
            delay = min(30.0, delay * 2)
