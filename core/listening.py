"""A worker's database loop: connect, LISTEN, work, wait for a NOTIFY (or ``poll_s``), and reconnect with
back-off after a database error (logged, never raised: the worker outlives a database restart).

Every database worker of the platform runs on it (the alert evaluator, the webhook and MQTT deliveries,
the replay requests, the vision, the incidents, the evidence); the broker-credentials writer keeps its own
loop (it must write the files once before it can listen, and it only retries connection failures).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

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
    row_factory: Any = None,
    on_connect: Callable[[psycopg.Connection[Any]], object] | None = None,
    first_retry_s: float = 1.0,
) -> None:
    """Run ``work`` until ``stop``; it returns True when more may be waiting (no wait before the next call).
    ``channel``: what to LISTEN to (none: the wait is a plain ``poll_s`` sleep). ``on_connect`` runs once per
    connection; ``ready`` is set while connected. After an error the retry waits ``first_retry_s``, doubling
    to 30 s while the database stays away."""
    channels = [channel] if isinstance(channel, str) else list(channel)
    options: dict[str, Any] = {"autocommit": True}
    if row_factory is not None:
        options["row_factory"] = row_factory
    delay = first_retry_s
    while not stop.is_set():
        try:
            with psycopg.connect(database_url, **options) as conn:
                for listened in channels:
                    conn.execute(f"LISTEN {listened}")
                if on_connect is not None:
                    on_connect(conn)
                if ready is not None:
                    ready.set()
                delay = first_retry_s
                while not stop.is_set():
                    if work(conn):
                        continue
                    if channels:
                        list(conn.notifies(timeout=poll_s, stop_after=1))
                    else:
                        stop.wait(poll_s)
        except psycopg.Error as exc:
            if ready is not None:
                ready.clear()
            logger.warning(f"{name}: database error", extra={"error": first_line(exc), "retry_s": delay})
            stop.wait(delay)
            delay = min(30.0, delay * 2)
