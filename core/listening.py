"""A worker's database loop: connect, LISTEN, work, wait for a NOTIFY (or ``poll_s``), and reconnect with
back-off after a database error (logged, never raised: the worker outlives a database restart)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from core.errors import first_line

logger = logging.getLogger(__name__)


def listen_and_work(
    database_url: str,
    channel: str,
    work: Callable[[psycopg.Connection[Any]], bool],
    stop: threading.Event,
    *,
    ready: threading.Event,
    poll_s: float,
    name: str,
) -> None:
    """Run ``work`` until ``stop``; it returns True when more may be waiting (no wait before the next call).
    ``ready`` is set while connected."""
    delay = 1.0
    while not stop.is_set():
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(f"LISTEN {channel}")
                ready.set()
                delay = 1.0
                while not stop.is_set():
                    if not work(conn):
                        list(conn.notifies(timeout=poll_s, stop_after=1))
        except psycopg.Error as exc:
            ready.clear()
            logger.warning(f"{name}: database error", extra={"error": first_line(exc), "retry_s": delay})
            stop.wait(delay)
            delay = min(30.0, delay * 2)
