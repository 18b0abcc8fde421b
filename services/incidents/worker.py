"""``tlab incidents``: the worker that keeps incidents in step with the camera events (docs/incidents.md).

It wakes on ingest's ``NOTIFY tlab_readings`` (and every ``poll_s``) and recomputes the suspicions of the
recent window (``window``: events that began in it, or are still open) in one transaction, under an
advisory lock (two workers would compute the same thing; one at a time writes it). The cost is the
window's events per cycle: thousands for a city's cameras over two days, milliseconds to read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily

from core.db import scalar
from core.settings import Settings
from core.worker_metrics import Heartbeat, WorkerMetrics, labelled, serve_and_listen
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
        self.heartbeat = Heartbeat("incidents", self.ready)
        self.metrics = WorkerMetrics("tlab_incidents", self.heartbeat, self._families)

    def run(self, stop: threading.Event) -> None:
        serve_and_listen(
            self.metrics,
            self.heartbeat,
            self._cycle,
            stop,
            database_url=self.settings.database_url,
            channel=CHANNEL,
            host=self.settings.metrics_host,
            port=self.settings.incidents_metrics_port,
            ready=self.ready,
            poll_s=self.poll_s,
        )

    def _families(self) -> Iterator[Any]:
        """Incidents new, updated, cleared, withdrawn, reopened by this worker (its lag is the last pass's age:
        each pass recomputes the whole window)."""
        yield labelled(CounterMetricFamily, "tlab_incidents_changes", "Incident changes written, by kind", "kind",
                       dict(self.changes))  # fmt: skip

    def _cycle(self, conn: psycopg.Connection[Any]) -> bool:
        self.work_once(conn)
        return False  # one recomputation covers everything waiting: wait for the next change

    def work_once(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        with conn.transaction():
            if not scalar(conn, "SELECT pg_try_advisory_xact_lock(%s)", (LOCK,)):
                return {}
            now = scalar(conn, "SELECT now()")
            changes = refresh(conn, now - self.window, self.policy)
        for kind, n in changes.items():
            self.changes[kind] = self.changes.get(kind, 0) + n
        if any(changes.values()):
            logger.info("incidents reconciled", extra=changes)
        return changes
