"""One ingest worker: take batches from the MQTT consumer, commit them, then acknowledge them.

The loop never stops on bad input (it becomes dead letters); when the database is unreachable it
retries the same batch with backoff and takes nothing new (the broker holds the rest). SIGTERM or
SIGINT: stop taking messages, flush and acknowledge what was taken, disconnect keeping the session.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

import psycopg
from tenacity import (
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential,
)

from core.db import connect, is_outage
from core.errors import first_line
from core.media_store import MediaStore
from core.settings import Settings
from device_adapters.contract import InboundMessage
from device_adapters.registry import TOPIC_FILTERS
from ingest.consumer import Delivery, MqttConsumer
from ingest.handoff import Empty
from ingest.identity import DeviceDirectory
from ingest.media_sweeper import MediaSweeper
from ingest.metrics import IngestMetrics, serve
from ingest.replay_requests import ReplayRequestRunner
from ingest.writer import BatchResult, BatchWriter, merge_results

logger = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """The worker cannot start as configured; the message says what to change."""


class NoVerdict(RuntimeError):
    """A batch failed for a reason that is neither a database outage nor a verdict on one message (a bug
    in the writer, say): it is retried with backoff, and its messages are counted towards
    ``ingest_max_attempts``."""


def _retried(exc: BaseException) -> bool:
    return is_outage(exc) or isinstance(exc, NoVerdict)


MessageKey = tuple[str, str]


def _key(message: InboundMessage) -> MessageKey:
    return message.topic, hashlib.sha256(message.payload).hexdigest()


@dataclass
class IngestStats:
    """Counters since start (read by the run command's live display and, later, metrics)."""

    received: int = 0
    stored: int = 0
    rejected: int = 0
    acked: int = 0
    rows_inserted: int = 0
    rows_duplicate: int = 0
    batches: int = 0
    db_errors: int = 0
    ignored: int = 0
    no_verdict: int = 0  # batch attempts that ended with neither records nor dead letters
    rejected_by_code: Counter[str] = field(default_factory=Counter)

    def add(self, result: BatchResult) -> None:
        self.stored += result.stored
        self.rejected += result.rejected
        self.rows_inserted += result.rows_inserted
        self.rows_duplicate += result.rows_duplicate
        self.ignored += result.ignored
        self.rejected_by_code.update(result.rejected_by_code)
        self.batches += 1


class IngestWorker:
    def __init__(self, settings: Settings, consumer: MqttConsumer | None = None) -> None:
        self.settings = settings
        self.consumer = consumer or MqttConsumer(
            host=settings.mqtt_host,
            port=settings.mqtt_service_port,
            client_id=settings.ingest_client_id,
            topic_filters=TOPIC_FILTERS,
            credentials=settings.mqtt_credentials(),
            receive_maximum=settings.ingest_receive_maximum,
            session_expiry_s=settings.ingest_session_expiry_s,
            share_group=settings.ingest_share_group,
            mount=settings.mqtt_device_mount,
        )
        directory = DeviceDirectory() if settings.ingest_require_provisioned else None
        self.writer = BatchWriter(
            MediaStore(settings.media_path),
            settings.max_payload_bytes,
            directory,
            keep_bytes=settings.dead_letter_keep_bytes,
        )
        self.stats = IngestStats()
        self.stopping = threading.Event()
        self.database_down = threading.Event()
        self.last_commit_at = time.monotonic()
        self._in_hand: list[Delivery] = []
        self._conn: psycopg.Connection[Any] | None = None
        # consecutive failed attempts without a verdict, per message (topic, payload hash); an entry
        # lives only while its message is being retried
        self.failures: Counter[MessageKey] = Counter()
        self._last_failure = ""
        self.metrics = IngestMetrics(self, settings.ingest_stuck_after_s)
        self._metrics_server: ThreadingHTTPServer | None = None

    def pending(self) -> tuple[int, float]:
        """(messages taken from the broker and not yet committed, age in seconds of the oldest)."""
        in_hand = self._in_hand
        queued = self.consumer.deliveries.qsize()
        first = in_hand[0] if in_hand else self.consumer.deliveries.oldest()
        oldest: datetime | None = first.message.received_at if first else None
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        return len(in_hand) + queued, max(0.0, age)

    # ---- database ------------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = connect(
                self.settings.database_url, connect_timeout=5, application_name=self.settings.ingest_client_id
            )
        return self._conn

    def _write_with_retry(self, batch: list[Delivery]) -> BatchResult | None:
        """Commit ``batch``, retrying while the database is unreachable or the batch ends without a
        verdict; None if stopped meanwhile (nothing acknowledged: the broker re-sends)."""
        messages = [d.message for d in batch]
        retrying = Retrying(
            retry=retry_if_exception(_retried),
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=stop_when_event_set(self.stopping),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    result = self._attempt(messages)
                    self.database_down.clear()
                    if self.failures:
                        for message in messages:
                            self.failures.pop(_key(message), None)
                    return result
        except Exception as exc:
            if _retried(exc):
                return None
            raise
        return None

    def _attempt(self, messages: Sequence[InboundMessage]) -> BatchResult:
        conn = self._connection()
        limit = self.settings.ingest_max_attempts
        exhausted = [m for m in messages if self.failures and self.failures[_key(m)] >= limit]
        try:
            if not exhausted:
                return self.writer.write(conn, messages)
            reason = f"failed {limit} times without a verdict; last error: {self._last_failure}"
            result = self.writer.write_verdicts(conn, exhausted, reason)
            logger.error("dead-lettered as internal_error after repeated failures", extra={"count": len(exhausted)})
            rest = [m for m in messages if m not in exhausted]
            if rest:
                merge_results(result, self.writer.write(conn, rest))
            return result
        except Exception as exc:
            if is_outage(exc):
                raise
            self.stats.no_verdict += 1
            self._last_failure = f"{type(exc).__name__}: {first_line(exc)}"
            for message in messages:
                self.failures[_key(message)] += 1
            raise NoVerdict(self._last_failure) from exc

    def _log_retry(self, state: Any) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, NoVerdict):
            logger.error(
                "batch failed without a verdict; retrying",
                extra={"attempt": state.attempt_number, "error": first_line(exc), "messages": len(self.failures)},
                exc_info=exc.__cause__,
            )
            return
        self.stats.db_errors += 1
        self.database_down.set()
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        logger.warning(
            "database unavailable; holding the batch",
            extra={"attempt": state.attempt_number, "error": first_line(exc)},
        )

    # ---- loop ----------------------------------------------------------------------------------
    def _next_batch(self) -> list[Delivery]:
        deliveries = self.consumer.deliveries
        batch: list[Delivery] = []
        try:
            batch.append(deliveries.get(timeout=0.2))
        except Empty:
            return batch
        deadline = time.monotonic() + self.settings.ingest_batch_ms / 1000
        while len(batch) < self.settings.ingest_batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(deliveries.get(timeout=remaining) if remaining > 0 else deliveries.get_nowait())
            except Empty:
                break
        return batch

    def process(self, batch: list[Delivery]) -> bool:
        """Write then acknowledge one batch. False if it could not be written (stopping, DB down)."""
        self.stats.received += len(batch)
        self._in_hand = batch
        started = time.perf_counter()
        try:
            result = self._write_with_retry(batch)
        finally:
            self._in_hand = []
        if result is None:
            return False
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(batch))
        self.last_commit_at = time.monotonic()
        self.stats.add(result)
        self.stats.acked += self.consumer.ack(batch)
        if result.clear_retained:
            self.consumer.clear_retained(result.clear_retained)
        if result.rejected:
            logger.info("dead-lettered", extra={"count": result.rejected, "codes": dict(result.rejected_by_code)})
        return True

    def run(self) -> None:
        if self.settings.ingest_metrics_port:
            try:
                self._metrics_server = serve(
                    self.metrics, self.settings.ingest_metrics_host, self.settings.ingest_metrics_port
                )
            except OSError as exc:
                raise WorkerError(
                    f"cannot serve metrics on {self.settings.ingest_metrics_host}:{self.settings.ingest_metrics_port}"
                    f" ({exc.strerror}): give each worker its own TLAB_INGEST_METRICS_PORT, or 0 for none"
                ) from exc
        self.consumer.start()
        replays = ReplayRequestRunner(self.settings, self.settings.ingest_client_id)
        replays_stop = threading.Event()
        replay_thread = threading.Thread(target=replays.run, args=(replays_stop,), name="replay-requests", daemon=True)
        replay_thread.start()
        # files a crash left with no row naming them (ingest/media_sweeper.py); a daemon: stops with the process
        sweeper = MediaSweeper(self.settings.database_url, self.writer.media)
        threading.Thread(target=sweeper.run, args=(replays_stop,), name="media-sweep", daemon=True).start()
        logger.info(
            "ingest started",
            extra={"client_id": self.settings.ingest_client_id, "filters": ",".join(self.consumer.filters)},
        )
        while not self.stopping.is_set():
            batch = self._next_batch()
            if batch:
                self.process(batch)
        replays_stop.set()
        self._drain()
        replay_thread.join(30)

    def retire(self, quiet_s: float = 2.0, timeout_s: float = 300.0) -> int:
        """Leave the share group for good: unsubscribe (the broker stops giving this member a share),
        store and acknowledge what its session still holds, then end the session. Returns how many
        messages were drained. This is how a member is removed when scaling down (eclipse/mosquitto#1747:
        an offline member of a shared subscription keeps receiving its share)."""
        self.consumer.retiring = True
        self.consumer.start()
        if not self.consumer.unsubscribed.wait(30):
            raise RuntimeError("the broker did not acknowledge the unsubscribe")
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_s:
            batch = self._next_batch()
            if batch:
                self.process(batch)
                quiet_since = time.monotonic()
        self.consumer.stop_accepting()
        self.consumer.close(end_session=True)
        if self._conn is not None:
            self._conn.close()
        logger.info("retired", extra={"client_id": self.settings.ingest_client_id, "drained": self.stats.stored})
        return self.stats.received

    def _drain(self) -> None:
        """Flush what was already taken, acknowledge it, then disconnect keeping the session."""
        self.consumer.stop_accepting()
        self.stopping.clear()  # let the last writes retry briefly
        deadline = time.monotonic() + 10
        timer = threading.Timer(10, self.stopping.set)
        timer.start()
        try:
            while time.monotonic() < deadline:
                batch = []
                while True:
                    try:
                        batch.append(self.consumer.deliveries.get_nowait())
                    except Empty:
                        break
                if not batch or not self.process(batch):
                    break
        finally:
            timer.cancel()
            self.stopping.set()
        self.consumer.close()
        if self._conn is not None:
            self._conn.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        logger.info(
            "ingest stopped",
            extra={
                "received": self.stats.received,
                "stored": self.stats.stored,
                "rejected": self.stats.rejected,
                "acked": self.stats.acked,
            },
        )

    def stop(self) -> None:
        self.stopping.set()


def run_worker(settings: Settings, *, retire: bool = False) -> int:
    """Entry point of ``tlab ingest``: wait for the database and a current schema, then the loop until
    SIGTERM/SIGINT."""
    from core.migrate import SchemaBehind, require_current_schema

    worker = IngestWorker(settings)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    waiting = Retrying(
        retry=retry_if_exception_type((psycopg.OperationalError, SchemaBehind)),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_when_event_set(worker.stopping),
        before_sleep=lambda state: logger.warning(
            "waiting for the database and its schema",
            extra={
                "attempt": state.attempt_number,
                "error": first_line(state.outcome.exception() if state.outcome else None),
            },
        ),
        reraise=True,
    )
    try:
        waiting(require_current_schema, settings.database_url)
    except (psycopg.OperationalError, SchemaBehind):
        return 1 if not worker.stopping.is_set() else 0
    if retire:
        drained = worker.retire()
        print(f"retired {settings.ingest_client_id}: drained {drained} messages, session ended", flush=True)
        return 0
    try:
        worker.run()
    except WorkerError as exc:
        logger.error(str(exc))
        print(f"tlab ingest: {exc}", flush=True)
        return 2
    return 0
