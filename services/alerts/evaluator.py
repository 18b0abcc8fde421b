"""``tlab alerts``: the worker that turns stored readings into alerts.

It wakes on ``NOTIFY tlab_readings`` (one per ingest batch), ``NOTIFY tlab_domain_events`` and every
``tick_s``, finds the devices whose data changed since it last looked (``devices.data_changed_at``, the
database's clock; it looks back a safety margin, harmless since evaluation is idempotent), and for each
(rule, device) recomputes the episodes of a window of readings and reconciles them with the stored
alerts, in one transaction holding the (rule, subject) advisory lock. Absence, offline and surge rules are
evaluated on every tick (time passing is their data); event rules on the domain events changed since it
last looked. Several workers can run: they take turns on a subject; a killed one's transaction rolls back.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core import domain_events
from core.errors import first_line
from core.settings import Settings
from device_adapters.registry import family as find_family
from services.alerts.engine import (
    DomainEvent,
    Episode,
    absent_episodes,
    event_episodes,
    offline_episodes,
    rate_episodes,
    surge_episodes,
    threshold_episodes,
)
from services.alerts.rules import Absent, DeadLetterSurge, DomainEventRule, Offline, RateOfChange, Threshold
from services.alerts.store import StoredRule, Subject, load_rules, load_samples, load_times, open_since, reconcile
from services.alerts.timeline import lock_outbox

logger = logging.getLogger(__name__)

CHANNEL = "tlab_readings"
SERIES_RULES = (Threshold, RateOfChange)  # evaluated when a device's data changes
TIME_RULES = (Absent, Offline, DeadLetterSurge)  # evaluated on every tick
SAFETY = timedelta(seconds=30)  # longer than any ingest transaction: a commit seen late is still scanned


@dataclass
class EvaluatorStats:
    evaluations: int = 0
    errors: int = 0
    changes: dict[str, int] = field(default_factory=dict)


class AlertEvaluator:
    def __init__(self, settings: Settings, *, lookback: timedelta = timedelta(hours=48), tick_s: float = 10.0) -> None:
        self.settings = settings
        self.lookback = lookback
        self.tick_s = tick_s
        self.stats = EvaluatorStats()
        self.watermark: datetime | None = None
        self.events_watermark: datetime | None = None
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                with psycopg.connect(self.settings.database_url, autocommit=True, row_factory=dict_row) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {domain_events.CHANNEL}")
                    delay = 1.0
                    self.ready.set()
                    last_tick = 0.0
                    while not stop.is_set():
                        self.evaluate_changed(conn)
                        self.evaluate_events(conn)
                        now = time.monotonic()
                        if now - last_tick >= self.tick_s:
                            self.evaluate_absences(conn)
                            last_tick = now
                        list(conn.notifies(timeout=min(1.0, self.tick_s), stop_after=1))
            except psycopg.Error as exc:
                self.ready.clear()
                logger.warning("alerts: database error", extra={"error": first_line(exc), "retry_s": delay})
                stop.wait(delay)
                delay = min(30.0, delay * 2)

    def evaluate_changed(self, conn: psycopg.Connection[Any]) -> int:
        """Re-evaluate the threshold rules of every device whose data changed since the last look."""
        now = conn.execute("SELECT now() AS now").fetchone()["now"]  # type: ignore[index]
        since = (self.watermark or now - self.lookback) - SAFETY
        devices = conn.execute(
            "SELECT device_id, family, labels FROM devices WHERE data_changed_at >= %s", (since,)
        ).fetchall()
        rules = [r for r in load_rules(conn) if isinstance(r.rule, SERIES_RULES)]
        done = 0
        for device in devices:
            subject = Subject(device["device_id"], device["device_id"], device["family"], device["labels"])
            for stored in rules:
                if stored.rule.scope.covers(subject.device_id, subject.family, subject.labels):
                    self.evaluate(conn, stored, subject, now)
                    done += 1
        self.watermark = now
        return done

    def evaluate_events(self, conn: psycopg.Connection[Any]) -> int:
        """Re-evaluate the event rules on every domain event raised, ended or withdrawn since the last look."""
        now = conn.execute("SELECT now() AS now").fetchone()["now"]  # type: ignore[index]
        since = (self.events_watermark or now - self.lookback) - SAFETY
        rules = [r for r in load_rules(conn) if isinstance(r.rule, DomainEventRule)]
        rows = conn.execute(
            "SELECT e.type, e.key, e.device_id, e.family, e.occurred_at, e.ended_at, e.withdrawn, e.summary, "
            "e.attributes, coalesce(d.labels, '{}') AS labels FROM domain_events e "
            "LEFT JOIN devices d ON d.device_id = e.device_id WHERE e.changed_at >= %s ORDER BY e.id",
            (since,),
        ).fetchall() if rules else []  # fmt: skip
        done = 0
        for row in rows:
            key = f"{row['type']}:{row['key']}"
            subject = Subject(key, row["device_id"], row["family"], row["labels"], row["summary"])
            event = DomainEvent(row["type"], row["key"], row["occurred_at"], row["ended_at"], row["withdrawn"],
                                row["attributes"])  # fmt: skip
            for stored in rules:
                rule = stored.rule
                assert isinstance(rule, DomainEventRule)
                if rule.event == event.type and rule.scope.covers(subject.device_id, subject.family, subject.labels):
                    self.evaluate(conn, stored, subject, now, event=event)
                    done += 1
        self.events_watermark = now
        return done

    def evaluate_absences(self, conn: psycopg.Connection[Any]) -> int:
        """The rules whose data is time passing (absence, offline), for every device in their scope."""
        now = conn.execute("SELECT now() AS now").fetchone()["now"]  # type: ignore[index]
        rules = [r for r in load_rules(conn) if isinstance(r.rule, TIME_RULES)]
        done = 0
        for stored in rules:
            family = stored.rule.scope.family
            devices = conn.execute(
                "SELECT device_id, family, labels FROM devices WHERE %s = '*' OR family = %s", (family, family)
            ).fetchall()
            for device in devices:
                if stored.rule.scope.covers(device["device_id"], device["family"], device["labels"]):
                    subject = Subject(device["device_id"], device["device_id"], device["family"], device["labels"])
                    self.evaluate(conn, stored, subject, now)
                    done += 1
        return done

    def evaluate(
        self,
        conn: psycopg.Connection[Any],
        stored: StoredRule,
        subject: Subject,
        now: datetime,
        *,
        event: DomainEvent | None = None,
    ) -> None:
        """Evaluate one (rule, subject) in its own transaction. A failure is logged and counted, and the
        others go on: one subject's bad data must not stop alerting for everyone (the watermark moves on;
        the subject is evaluated again at its next change or tick)."""
        try:
            self._evaluate(conn, stored, subject, now, event)
        except Exception as exc:
            if conn.broken or conn.closed:
                raise
            self.stats.errors += 1
            logger.error(
                "alerts: evaluation failed",
                extra={"rule": stored.rule.name, "subject": subject.key, "error": first_line(exc)},
                exc_info=not isinstance(exc, psycopg.Error),
            )

    def _evaluate(
        self, conn: psycopg.Connection[Any], stored: StoredRule, subject: Subject, now: datetime,
        event: DomainEvent | None,
    ) -> None:  # fmt: skip
        rule = stored.rule
        device_id, family = subject.device_id, subject.family
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))", (stored.id, subject.key))
            opened = open_since(conn, stored.id, subject.key)
            start = min(opened, now - self.lookback) if opened else now - self.lookback
            episodes: list[Episode]
            if isinstance(rule, DomainEventRule):
                assert event is not None
                # the event's one alert began when it occurred (or when it did before a re-raise moved it)
                start = min(opened, event.occurred_at) if opened else event.occurred_at
                episodes = event_episodes(rule, event)
            elif isinstance(rule, Threshold):
                start -= rule.gap_limit
                samples = load_samples(conn, family, rule.metric, device_id, start)
                horizon = max((s.time for s in samples), default=start)
                episodes = threshold_episodes(rule, samples, horizon)
            elif isinstance(rule, RateOfChange):
                start -= rule.window
                samples = load_samples(conn, family, rule.metric, device_id, start)
                horizon = max((s.time for s in samples), default=start)
                episodes = rate_episodes(rule, samples, horizon)
            elif isinstance(rule, Absent):
                metric = rule.metric or _first_metric(family)
                start -= rule.for_
                episodes = absent_episodes(rule, load_times(conn, family, metric, device_id, start), now)
            elif isinstance(rule, DeadLetterSurge):
                start = min(opened, now - rule.window) if opened else now - rule.window
                start -= rule.window
                letters = conn.execute(
                    "SELECT first_received_at, last_received_at, occurrences FROM dead_letters "
                    "WHERE device_id = %s AND last_received_at >= %s",
                    (device_id, start),
                ).fetchall()
                arrivals = [r["first_received_at"] for r in letters if r["first_received_at"] >= start]
                arrivals += [r["last_received_at"] for r in letters if r["occurrences"] > 1]
                episodes = surge_episodes(rule, arrivals, now)
            else:
                status = conn.execute(
                    "SELECT online, status_at FROM devices WHERE device_id = %s", (device_id,)
                ).fetchone()
                online, status_at = (status["online"], status["status_at"]) if status else (None, None)
                episodes = offline_episodes(rule, online, status_at, opened, now)
            lock_outbox(conn)  # before any alert row: see services/alerts/timeline.py
            changes = reconcile(conn, stored, subject, episodes, start)
        self.stats.evaluations += 1
        for kind, alert_id in changes:
            self.stats.changes[kind] = self.stats.changes.get(kind, 0) + 1
            logger.info("alert " + kind, extra={"alert": alert_id, "rule": rule.name, "subject": subject.key})


def _first_metric(family: str) -> str:
    metrics = find_family(family).adapter.metrics
    if not metrics:
        raise ValueError(f"family {family!r} has no metric to watch for absence")
    return metrics[0].name
