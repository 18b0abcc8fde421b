"""Prometheus ``/metrics`` and ``/healthz`` of a worker, on its own port (``TLAB_<WORKER>_METRICS_PORT``).

Every database worker (alerts, deliveries, vision, incidents, evidence, broker credentials) is served the
same way ingest is (ingest/metrics.py): a stdlib HTTP server on a daemon thread, counters read from the
worker's own stats at scrape time (one source of truth), queue depths and ages read from the database at
scrape time with bounded queries (``bounded_query``: a short connection, a statement timeout; a failed read
leaves the gauge out and counts ``tlab_<worker>_scrape_errors_total``, the scrape still answers).

The health comes from the worker's loop (``Heartbeat``): every pass of ``core.listening.listen_and_work``
(or the worker's own loop) beats; ``/healthz`` answers 200 ``ok`` while passes complete, 503 ``starting``
before the first connection, ``database_unavailable`` while the loop has lost its connection, ``stalled``
when no pass completed for ``stale_after_s`` (a wedged detector, a dead thread). It lives in the core
because ingest and services cannot import each other; the core may use prometheus_client and http.server.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import psycopg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from core.db import connect
from core.errors import first_line
from core.listening import listen_and_work

logger = logging.getLogger(__name__)

T = TypeVar("T")
SCRAPE_TIMEOUT_MS = 2000  # a scrape's own statements; Prometheus' default scrape timeout is 10 s


@dataclass(frozen=True)
class Health:
    status: str
    healthy: bool
    detail: dict[str, Any]


@dataclass
class Heartbeat:
    """What a worker's loop did last, written by the loop's thread and read by the scrape's."""

    name: str
    ready: threading.Event
    stale_after_s: float = 300.0
    started_at: float = field(default_factory=time.monotonic)
    cycles: int = 0
    last_cycle_at: float | None = None  # monotonic end of the last completed pass
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None

    def beat(self) -> None:
        self.cycles += 1
        self.last_cycle_at = time.monotonic()

    def error(self, kind: str, exc: BaseException | str) -> None:
        """Count an error of ``kind`` (a label of ``tlab_<worker>_errors_total``) and keep its message."""
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.last_error = f"{kind}: {exc if isinstance(exc, str) else first_line(exc)}"[:300]

    def wrap(self, work: Callable[[T], bool]) -> Callable[[T], bool]:
        """``work`` beating on each completed pass; a database error is counted (kind ``database``) and
        re-raised for the loop to reconnect, any other one counted as ``unexpected`` and re-raised."""

        def beating(conn: T) -> bool:
            try:
                more = work(conn)
            except psycopg.Error as exc:
                self.error("database", exc)
                raise
            except Exception as exc:
                self.error("unexpected", exc)
                raise
            self.beat()
            return more

        return beating

    def health(self) -> Health:
        now = time.monotonic()
        since = now - (self.last_cycle_at if self.last_cycle_at is not None else self.started_at)
        detail: dict[str, Any] = {
            "worker": self.name,
            "passes": self.cycles,
            "since_last_pass_s": round(since, 3),
            "last_error": self.last_error,
        }
        if since > self.stale_after_s:
            return Health("stalled", False, detail)
        if not self.ready.is_set():
            return Health("starting" if self.last_cycle_at is None else "database_unavailable", False, detail)
        return Health("ok", True, detail)

    def families(self, prefix: str) -> Iterator[Any]:
        """The metrics every worker has: errors by kind, passes, the last pass's age, connected."""
        errors = CounterMetricFamily(f"{prefix}_errors", "Errors, by kind", labels=["kind"])
        for kind, n in sorted(self.errors.items()):
            errors.add_metric([kind], n)
        yield errors
        yield CounterMetricFamily(f"{prefix}_passes", "Completed passes of the worker's loop", value=self.cycles)
        since = time.monotonic() - (self.last_cycle_at if self.last_cycle_at is not None else self.started_at)
        yield GaugeMetricFamily(
            f"{prefix}_last_pass_age_seconds", "Seconds since the worker's loop last completed a pass", value=since
        )
        yield GaugeMetricFamily(
            f"{prefix}_database_connected", "1 while the worker holds its database connection",
            value=1 if self.ready.is_set() else 0,
        )  # fmt: skip


class WorkerMetrics(Collector):
    """One worker's registry: ``collect`` yields the worker's own families (``families``), the heartbeat's,
    then the gauges ``gauges`` reads from the database (``None``: none)."""

    def __init__(
        self,
        prefix: str,
        heartbeat: Heartbeat,
        families: Callable[[], Iterable[Any]],
        *,
        database_url: str | None = None,
        gauges: Callable[[psycopg.Connection[Any]], Iterable[Any]] | None = None,
        health: Callable[[], Health] | None = None,
    ) -> None:
        self.prefix, self.heartbeat, self.families = prefix, heartbeat, families
        self.database_url, self.gauges = database_url, gauges
        self._health = health or heartbeat.health
        self.scrape_errors = 0
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def health(self) -> Health:
        return self._health()

    def collect(self) -> Iterator[Any]:
        yield from self.families()  # first: a worker of several loops sums their heartbeats into its own here
        yield from self.heartbeat.families(self.prefix)
        if self.gauges is not None and self.database_url is not None:
            try:
                yield from bounded_query(self.database_url, lambda conn: list(self.gauges(conn)))  # type: ignore[misc]
            except psycopg.Error as exc:
                self.scrape_errors += 1
                logger.warning(f"{self.prefix}: scrape query failed", extra={"error": first_line(exc)})
        yield CounterMetricFamily(
            f"{self.prefix}_scrape_errors", "Scrapes whose database gauges could not be read", value=self.scrape_errors
        )


def bounded_query(database_url: str, read: Callable[[psycopg.Connection[Any]], T]) -> T:
    """Run ``read`` on a short-lived connection (rows as dicts) whose statements stop after SCRAPE_TIMEOUT_MS."""
    with connect(database_url, connect_timeout=2, options=f"-c statement_timeout={SCRAPE_TIMEOUT_MS}") as conn:
        return read(conn)


def serve(
    registry: CollectorRegistry, health: Callable[[], Health], host: str, port: int, name: str = "metrics"
) -> ThreadingHTTPServer:
    """Serve /metrics and /healthz from a daemon thread; returns the server (``.shutdown()`` stops it)."""
    handlers: dict[str, Callable[[], tuple[int, str, bytes]]] = {
        "/metrics": lambda: (200, "text/plain; version=0.0.4", generate_latest(registry)),
        "/healthz": lambda: health_response(health()),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            handler = handlers.get(self.path.split("?", 1)[0])
            status, ctype, body = handler() if handler else (404, "text/plain", b"not found\n")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:  # scrapes are not worth a log line each
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name=f"{name}-metrics", daemon=True).start()
    return server


@contextmanager
def serving(metrics: WorkerMetrics, host: str, port: int) -> Iterator[ThreadingHTTPServer | None]:
    """Serve ``metrics`` on ``host:port`` while the block runs (port 0: not served); a port already taken
    is logged and the worker runs without metrics (its work matters more than its scrape)."""
    server = None
    if port:
        try:
            server = serve(metrics.registry, metrics.health, host, port, metrics.prefix)
        except OSError as exc:
            logger.error(f"cannot serve metrics on {host}:{port}", extra={"error": str(exc)})
    try:
        yield server
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def health_response(health: Health) -> tuple[int, str, bytes]:
    body = json.dumps({"status": health.status, **health.detail}).encode()
    return (200 if health.healthy else 503), "application/json", body


def counter(name: str, help_: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_, value=value)


def labelled(kind: type[Any], name: str, help_: str, label: str, values: dict[str, float]) -> Any:
    """A counter or gauge family with one label, one sample per key of ``values``."""
    family = kind(name, help_, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([str(key)], value)
    return family


def serve_and_listen(
    metrics: WorkerMetrics,
    heartbeat: Heartbeat,
    work: Callable[[psycopg.Connection[Any]], bool],
    stop: threading.Event,
    *,
    database_url: str,
    channel: str,
    host: str,
    port: int,
    ready: threading.Event,
    poll_s: float,
) -> None:
    """A LISTEN worker (core/listening.py) with its ``/metrics`` and health served while it runs, each pass
    counted by its heartbeat: the vision, incidents and evidence workers' whole ``run``."""
    with serving(metrics, host, port):
        listen_and_work(
            database_url, channel, heartbeat.wrap(work), stop, ready=ready, poll_s=poll_s, name=heartbeat.name
        )
