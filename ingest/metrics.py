"""Prometheus metrics and health of one ingest worker, served on TLAB_INGEST_METRICS_PORT.

``/metrics``: counters are read from the worker's own stats at scrape time (one source of truth);
batch size and commit latency are histograms; lag is the number and age of messages taken from the
broker but not yet committed.

``/healthz`` tells an idle worker from a stuck one:
- 200 ``idle``: connected, nothing pending;
- 200 ``ok``: pending messages, and a commit happened within ``stuck_after_s``;
- 503 ``database_unavailable``: holding a batch while the database is unreachable (backpressure);
- 503 ``retrying_without_verdict``: a batch failed with neither records nor dead letters (a bug); its
  messages are retried, and dead-lettered as ``internal_error`` after ``TLAB_INGEST_MAX_ATTEMPTS``;
- 503 ``stuck``: pending messages and no commit for ``stuck_after_s`` without a database error;
- 503 ``disconnected``: not connected to the broker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from core.worker_metrics import Health
from core.worker_metrics import serve as serve_registry

if TYPE_CHECKING:
    from ingest.worker import IngestWorker


class IngestMetrics(Collector):
    def __init__(self, worker: IngestWorker, stuck_after_s: float) -> None:
        self.worker = worker
        self.stuck_after_s = stuck_after_s
        self.registry = CollectorRegistry()
        self.batch_size = Histogram(
            "tlab_ingest_batch_messages",
            "Messages per committed batch",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "tlab_ingest_commit_seconds",
            "Decode + write + commit time of a batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.registry.register(self)

    def collect(self) -> Iterator[Any]:
        s = self.worker.stats
        for name, help_, value in (
            ("received", "Messages taken from the broker", s.received),
            ("stored", "Messages whose records were committed", s.stored),
            ("acked", "Messages acknowledged to the broker after commit", s.acked),
            ("rows_inserted", "New rows written to time-series tables", s.rows_inserted),
            ("duplicates", "Rows already stored (redeliveries, repeated sends), dropped", s.rows_duplicate),
            ("db_errors", "Database connection failures while writing", s.db_errors),
            ("ack_failures", "Acknowledgements paho refused to send", self.worker.consumer.ack_failures),
            ("ignored", "Messages acknowledged without records or dead letter (downlinks, retained clears)", s.ignored),
            ("no_verdict", "Batch attempts that ended with neither records nor dead letters (retried)", s.no_verdict),
            (
                "packets_salvaged",
                "PUBLISH packets paho refused to decode, read by ingest's own reader (ingest/publish_packet.py)",
                getattr(self.worker.consumer.client, "salvaged", 0),
            ),
        ):
            yield CounterMetricFamily(f"tlab_ingest_{name}", help_, value=value)
        rejected = CounterMetricFamily("tlab_ingest_rejected", "Messages dead-lettered, by reason", labels=["reason"])
        for reason, n in sorted(s.rejected_by_code.items()):
            rejected.add_metric([reason], n)
        yield rejected
        pending, oldest = self.worker.pending()
        yield GaugeMetricFamily(
            "tlab_ingest_pending_messages", "Taken from the broker, not yet committed", value=pending
        )
        yield GaugeMetricFamily("tlab_ingest_oldest_pending_seconds", "Age of the oldest pending message", value=oldest)
        yield GaugeMetricFamily(
            "tlab_ingest_messages_without_verdict",
            "Messages being retried after failing without a verdict (poison messages)",
            value=len(self.worker.failures),
        )
        yield GaugeMetricFamily(
            "tlab_ingest_connected",
            "1 when connected to the broker",
            value=1 if self.worker.consumer.connected.is_set() else 0,
        )
        yield GaugeMetricFamily(
            "tlab_ingest_last_commit_age_seconds",
            "Seconds since the last commit",
            value=time.monotonic() - self.worker.last_commit_at,
        )

    def health(self) -> Health:
        worker = self.worker
        pending, oldest = worker.pending()
        since_commit = time.monotonic() - worker.last_commit_at
        detail = {
            "pending": pending,
            "oldest_pending_s": round(oldest, 3),
            "since_last_commit_s": round(since_commit, 3),
            "client_id": worker.settings.ingest_client_id,
        }
        if not worker.consumer.connected.is_set():
            return Health("disconnected", False, detail)
        if pending == 0:
            return Health("idle", True, detail)
        if worker.database_down.is_set():
            return Health("database_unavailable", False, detail)
        if worker.failures:
            detail["messages_without_verdict"] = len(worker.failures)
            return Health("retrying_without_verdict", False, detail)
        if since_commit > self.stuck_after_s and oldest > self.stuck_after_s:
            return Health("stuck", False, detail)
        return Health("ok", True, detail)


def serve(metrics: IngestMetrics, host: str, port: int) -> ThreadingHTTPServer:
    """Serve /metrics and /healthz from a daemon thread (core/worker_metrics.py, as every worker does);
    returns the server (``.shutdown()`` stops it)."""
    return serve_registry(metrics.registry, metrics.health, host, port, "ingest")
