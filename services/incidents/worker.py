"""``tlab incidents``: the worker that keeps incidents in step with the camera events (docs/incidents.md).

It wakes on ingest's ``NOTIFY tlab_readings`` (and every ``poll_s``) and recomputes the suspicions of the
recent window (``window``: events that began in it, or are still open) in one transaction, under an
advisory lock (two workers would compute the same thing; one at a time writes it). The cost is the
window's events per cycle: thousands for a city's cameras over two days, milliseconds to read.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import psycopg

from core.errors import first_line
from core.settings import Settings
from services.incidents.rule import Policy
from services.incidents.store import refresh

logger = logging.getLogger(__name__)
CHANNEL = "tlab_readings"
LOCK = 0x746C_6162_696E_6364  # "tlabincd"


class IncidentWorker:
    def __init__(
        self,
        settings: Settings,
        *,
        poll_s: float = 2.0,
        window: timedelta = timedelta(days=2),
        policy: Policy = Policy(),
    ) -> None:
        self.settings, self.poll_s, self.window, self.policy = settings, poll_s, window, policy
        self.changes: dict[str, int] = {}
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    delay = 1.0
                    while not stop.is_set():
                        self.work_once(conn)
                        list(conn.notifies(timeout=self.poll_s, stop_after=1))
            except psycopg.Error as exc:
                self.ready.clear()
                logger.warning("incidents: database error", extra={"error": first_line(exc), "retry_s": delay})
                stop.wait(delay)
                delay = min(30.0, delay * 2)

    def work_once(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        with conn.transaction():
            if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK,)).fetchone()[0]:  # type: ignore[index]
                return {}
            now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
            changes = refresh(conn, now - self.window, self.policy)
        for kind, n in changes.items():
            self.changes[kind] = self.changes.get(kind, 0) + n
        if any(changes.values()):
            logger.info("incidents reconciled", extra=changes)
        return changes
