"""``tlab evidence``: the worker that makes the privacy copy of every personal image, runs the retention
purge on schedule and deletes the retained camera snapshots the platform no longer keeps from the broker
(``clears.py``; docs/incidents.md).

It wakes on ingest's ``NOTIFY tlab_readings`` (and every ``poll_s``), copies what is waiting in batches
of ``batch`` (the Haar cascades are the cost: about a quarter of a second for a 640x480 image and two
seconds for a full-HD one on one core, ``tlab bench evidence``), and every ``retention_interval_s`` purges
what is older than the retention period. Several workers share the work: each original is claimed with a
transaction-scoped advisory lock (a worker skips what another holds); the purge takes an advisory lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily

from core.media_store import MediaStore
from core.settings import Settings
from core.worker_metrics import Heartbeat, WorkerMetrics, counter, serve_and_listen
from services.evidence.clears import ClearsError, drain_clears, has_clears
from services.evidence.copies import SETTLE_S, Stale, claim, make_copy_outcome, pending, remove_files
from services.evidence.purge_runs import last_success, purge_under_lock

logger = logging.getLogger(__name__)
CHANNEL = "tlab_readings"
PENDING_CAP = 10_000  # the depth gauge counts up to this many originals
# on media_copy_pending_idx (a partial index: only what waits), capped
COPIES_PENDING = """
SELECT count(*) AS n, min(created_at) AS oldest, now() AS now FROM (
    SELECT created_at FROM media WHERE copy_pending LIMIT %(cap)s
) waiting
"""


class EvidenceWorker:
    def __init__(self, settings: Settings, *, poll_s: float = 2.0, batch: int = 5, settle_s: float = SETTLE_S) -> None:
        self.settings, self.poll_s, self.batch, self.settle_s = settings, poll_s, batch, settle_s
        self.media = MediaStore(settings.media_path)
        self.ready = threading.Event()
        self.made = 0
        self.failed = 0
        self._purged_at = float("-inf")
        self.purges = 0
        self.heartbeat = Heartbeat("evidence", self.ready, stale_after_s=900.0)  # a pass may hold a whole purge
        self.metrics = WorkerMetrics(
            "tlab_evidence", self.heartbeat, self._families, database_url=settings.database_url, gauges=self._gauges
        )

    def run(self, stop: threading.Event) -> None:
        serve_and_listen(
            self.metrics,
            self.heartbeat,
            self._cycle,
            stop,
            database_url=self.settings.database_url,
            channel=CHANNEL,
            host=self.settings.metrics_host,
            port=self.settings.evidence_metrics_port,
            ready=self.ready,
            poll_s=self.poll_s,
        )

    def _families(self) -> Iterator[Any]:
        yield counter("tlab_evidence_copies_made", "Privacy copies made", self.made)
        yield counter("tlab_evidence_copies_failed", "Originals recorded as not copyable", self.failed)
        yield counter("tlab_evidence_purges", "Retention purges completed by this worker", self.purges)

    def _gauges(self, conn: psycopg.Connection[Any]) -> Iterator[Any]:
        # read from the database: the same on every worker, and counting every purger (worker, CronJob, CLI)
        last = last_success(conn)
        yield GaugeMetricFamily(
            "tlab_retention_last_success_timestamp_seconds",
            "Unix time of the last retention purge completed by any process (0: none ever)",
            value=last.timestamp() if last else 0.0,
        )
        row = conn.execute(COPIES_PENDING, {"cap": PENDING_CAP}).fetchone()
        assert row is not None  # an aggregate: one row
        yield GaugeMetricFamily(
            "tlab_evidence_copies_pending", f"Personal images waiting for their privacy copy (up to {PENDING_CAP})",
            value=row["n"],
        )  # fmt: skip
        yield GaugeMetricFamily(
            "tlab_evidence_oldest_pending_age_seconds", "Age of the oldest image waiting for its copy (0: none)",
            value=(row["now"] - row["oldest"]).total_seconds() if row["oldest"] else 0.0,
        )  # fmt: skip

    def _cycle(self, conn: psycopg.Connection[Any]) -> bool:
        if time.monotonic() - self._purged_at >= self.settings.retention_interval_s:
            self._purged_at = time.monotonic()
            try:
                self.purge_once(conn)
            except psycopg.OperationalError:
                raise  # the database is gone: the loop reconnects
            except Exception as exc:  # a failed purge must not stop the copies; it is tried again next interval
                self.heartbeat.error("purge_failed", exc)
                logger.exception("retention purge failed")
        self.clear_once(conn)
        return self.copy_once(conn) > 0  # more may wait (the queue serves one image per camera per batch)

    def copy_once(self, conn: psycopg.Connection[Any]) -> int:
        """Copy up to ``batch`` waiting originals (one per camera); returns how many it copied or recorded as
        not copyable (0: nothing waits, or another worker holds what does)."""
        originals = pending(conn, self.batch, self.settle_s)
        made = failed = stale = 0
        for original in originals:
            try:
                with conn.transaction():  # the original is this worker's while the transaction lasts
                    if not claim(conn, original):
                        continue  # another worker is copying it, or has
                    outcome = make_copy_outcome(conn, self.media, original)
            except Stale:  # its context changed meanwhile: queued again, made at the next pass
                stale += 1
                continue
            remove_files(conn, self.media, outcome.retired)  # withdrawn copies, after the commit
            if outcome.copy_sha256 is None:
                failed += 1
            else:
                made += 1
        self.made, self.failed = self.made + made, self.failed + failed
        if made or failed:
            logger.info("privacy copies made", extra={"made": made, "failed": failed, "total": self.made})
        return made + failed + stale

    def clear_once(self, conn: psycopg.Connection[Any]) -> int:
        """Delete from the broker the retained snapshots queued for it (a purge, an unmapped or revoked camera);
        a broker that cannot be reached now is tried again next cycle."""
        if not has_clears(conn):
            return 0
        try:
            return drain_clears(conn, self.settings)
        except ClearsError as exc:
            self.heartbeat.error("clear_failed", exc)
            logger.warning("retained snapshots not cleared yet", extra={"error": str(exc)})
            return 0

    def purge_once(self, conn: psycopg.Connection[Any]) -> None:
        if purge_under_lock(conn, self.media, self.settings.camera_retention_days, by="evidence worker"):
            self.purges += 1
