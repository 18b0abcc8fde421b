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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from psycopg import sql

from core import domain_events
from core.db import scalar
from core.errors import first_line
from core.listening import listen_and_work
from core.settings import Settings
from core.worker_metrics import Heartbeat, WorkerMetrics, counter, labelled, serving
from device_adapters.registry import family as find_family
from services.alerts.engine import (
    DomainEvent,
    Episode,
    absent_episodes,
    change_series,
    event_episodes,
    offline_episodes,
    series_episodes,
    series_margin,
    surge_episodes,
)
from services.alerts.queries import series_source
from services.alerts.rules import (
    Absent,
    DeadLetterSurge,
    DomainEventRule,
    Offline,
    RateOfChange,
    Threshold,
    for_device,
)
from services.alerts.store import (
    StoredRule,
    Subject,
    load_rules,
    load_samples,
    load_samples_of_many,
    load_times,
    note_rule_error,
    open_since,
    open_subjects,
    reconcile,
    settled,
)
from services.alerts.timeline import lock_outbox

logger = logging.getLogger(__name__)

CHANNEL = "tlab_readings"
SERIES_RULES = (Threshold, RateOfChange)  # evaluated when a device's data changes
TIME_RULES = (Absent, Offline, DeadLetterSurge)  # evaluated on every tick
RENOTE_S = 60.0  # a rule still failing has its last_error_at refreshed (and is logged) at most this often
SAFETY = timedelta(seconds=30)  # longer than any ingest transaction: a commit seen late is still scanned
# The tail pass reads readings stamped since its last pass minus TAIL_MARGIN (a reading's commit trails its
# own timestamp by the link, ingest's batching and clock skew). A device to which ingest wrote rows stamped
# more than 4 s back (devices.data_late_at) is evaluated over the whole look-back at once; as a backstop (a
# transaction slower than that margin), every RECHECK_EVERY the devices changed meanwhile are queued for
# the same, RECHECK_CHUNK per loop.
TAIL_MARGIN = timedelta(seconds=5)
RECHECK_EVERY = timedelta(seconds=60)
RECHECK_CHUNK = 100


@dataclass
class EvaluatorStats:
    evaluations: int = 0  # locked (rule, subject) evaluations
    skipped: int = 0  # subjects whose stored alerts already said what their readings show
    errors: int = 0
    rule_errors: dict[str, int] = field(default_factory=dict)  # rule name -> failed evaluations
    changes: dict[str, int] = field(default_factory=dict)


class AlertEvaluator:
    def __init__(
        self,
        settings: Settings,
        *,
        lookback: timedelta = timedelta(hours=48),
        tick_s: float = 10.0,
        recheck_every: timedelta = RECHECK_EVERY,
    ) -> None:
        self.settings = settings
        self.recheck_every = recheck_every
        self.lookback = lookback
        self.tick_s = tick_s
        self.stats = EvaluatorStats()
        self.watermark: datetime | None = None
        self.events_watermark: datetime | None = None
        self._recheck: dict[str, Subject] = {}  # devices whose whole look-back is still to re-check, in order
        self._changed: dict[str, Subject] = {}  # changed since the last time the queue was filled
        self._queued_at: datetime | None = None
        self._ticked = False  # the time rules' first tick evaluates every device in scope
        self.ready = threading.Event()
        self.heartbeat = Heartbeat("alerts", self.ready)
        self.metrics = WorkerMetrics("tlab_alerts", self.heartbeat, self._families)
        self._last_tick = 0.0  # when the time rules last ran (monotonic); 0: at the next pass
        self._noted: dict[int, tuple[str, float]] = {}  # rule id -> the error last written on it, when
        self._failed_now: set[int] = set()  # rules that failed in the current look (not to be cleared)

    def run(self, stop: threading.Event) -> None:
        with serving(self.metrics, self.settings.metrics_host, self.settings.alerts_metrics_port):
            listen_and_work(
                self.settings.database_url,
                (CHANNEL, domain_events.CHANNEL),
                self.heartbeat.wrap(self._pass),
                stop,
                ready=self.ready,
                poll_s=min(1.0, self.tick_s),
                name="alerts",
                on_connect=lambda conn: setattr(self, "_last_tick", 0.0),
            )

    def _families(self) -> Iterator[Any]:
        """The evaluator's counters, and how far behind it is: the database time its last look covered (the
        watermark) against now, and the devices still queued for the whole look-back."""
        s = self.stats
        yield counter("tlab_alerts_evaluations", "Locked (rule, subject) evaluations", s.evaluations)
        yield counter("tlab_alerts_skipped", "Subjects whose stored alerts already said what the data shows", s.skipped)
        yield labelled(CounterMetricFamily, "tlab_alerts_changes", "Alert changes written (fired, cleared, "
                       "retracted, began_earlier ...), by kind", "kind", dict(s.changes))  # fmt: skip
        yield labelled(CounterMetricFamily, "tlab_alerts_rule_errors", "Failed evaluations, by rule", "rule",
                       dict(s.rule_errors))  # fmt: skip
        behind = time.time() - self.watermark.timestamp() if self.watermark else 0.0
        yield GaugeMetricFamily(
            "tlab_alerts_behind_seconds", "Now minus the database time the last look at changed devices covered "
            "(0 before the first)", value=max(0.0, behind),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "tlab_alerts_recheck_queue", "Devices queued for a re-check of their whole look-back",
            value=len(self._recheck),
        )  # fmt: skip

    def _pass(self, conn: psycopg.Connection[Any]) -> bool:
        """One look at what changed, then (every ``tick_s``) the time rules; then wait for a change."""
        self._phase(conn, self.evaluate_changed)
        self._phase(conn, self.evaluate_events)
        self._phase(conn, self.recheck_late)
        now = time.monotonic()
        if now - self._last_tick >= self.tick_s:
            self._phase(conn, self.evaluate_absences)
            self._last_tick = now
        return False

    def _phase(self, conn: psycopg.Connection[Any], phase: Callable[[psycopg.Connection[Any]], int]) -> None:
        """One part of a pass; a failure outside any rule (rules fail alone, ``_guard``) is logged and counted,
        and the other parts still run: only a lost connection ends the pass (the loop reconnects)."""
        try:
            phase(conn)
        except Exception as exc:
            if isinstance(exc, psycopg.OperationalError) or conn.broken or conn.closed:
                raise
            self.stats.errors += 1
            self.heartbeat.error(phase.__name__, exc)
            logger.error(f"alerts: {phase.__name__} failed", extra={"error": first_line(exc)}, exc_info=True)

    def evaluate_changed(self, conn: psycopg.Connection[Any]) -> int:
        """Evaluate the series rules of every device whose data changed since the last look: the first
        pass over the whole look-back, later ones over the *tail* (readings stamped since the last pass, or
        since the oldest late row ingest flagged), each changed device being queued for the backstop
        re-check over the whole look-back (``recheck_late``)."""
        now = scalar(conn, "SELECT now()")
        since = (self.watermark or now - self.lookback) - SAFETY
        devices = conn.execute(
            "SELECT device_id, family, labels, location, data_late_at, least(data_late_from, data_late_prev) AS "
            "late_from FROM devices WHERE data_changed_at >= %s",
            (since,),
        ).fetchall()
        subjects = [
            Subject(d["device_id"], d["device_id"], d["family"], d["labels"], place=d["location"]) for d in devices
        ]
        tail = self.watermark - TAIL_MARGIN if self.watermark else None
        late = {
            d["device_id"]: d["late_from"]
            for d in devices
            if tail and d["data_late_at"] and d["data_late_at"] >= since and d["late_from"] and d["late_from"] < tail
        }
        done = 0
        for stored in self._rules(conn, SERIES_RULES):
            with self._guard(conn, stored):
                watched = [s for s in subjects if stored.rule.scope.covers(s.device_id, s.family, s.labels)]
                if tail is None:
                    done += self.evaluate_series(conn, stored, watched, now)
                    continue
                done += self.evaluate_tail(conn, stored, [s for s in watched if s.key not in late], now, tail)
                behind = [s for s in watched if s.key in late]
                if behind:
                    done += self.evaluate_tail(conn, stored, behind, now, min(late[s.key] for s in behind))
        if self.watermark is not None:
            self._changed.update((s.key, s) for s in subjects)
        if self._queued_at is None or now - self._queued_at >= self.recheck_every:
            self._recheck.update((k, s) for k, s in self._changed.items() if k not in self._recheck)
            self._changed, self._queued_at = {}, now
        self.watermark = now
        return done

    def recheck_late(self, conn: psycopg.Connection[Any], chunk: int = RECHECK_CHUNK) -> int:
        """The whole look-back of up to ``chunk`` devices queued by the tail passes, oldest first: what a
        reading stamped before the tail (a device's buffer flushed, a replayed dead letter) changed."""
        if not self._recheck:
            return 0
        now = scalar(conn, "SELECT now()")
        keys = list(self._recheck)[:chunk]
        subjects = [self._recheck.pop(k) for k in keys]
        done = 0
        for stored in self._rules(conn, SERIES_RULES):
            with self._guard(conn, stored):
                watched = [s for s in subjects if stored.rule.scope.covers(s.device_id, s.family, s.labels)]
                done += self.evaluate_series(conn, stored, watched, now)
        return done

    def evaluate_tail(
        self, conn: psycopg.Connection[Any], stored: StoredRule, subjects: list[Subject], now: datetime, tail: datetime
    ) -> int:
        """The cheap pass: only readings stamped since ``tail`` (plus a rate rule's window before them) are
        read; a subject gets the locked evaluation if it has an open alert (it may clear or be retracted) or
        if its tail could fire (a reading beyond the threshold, a change of ``by``). A pending breach fires
        only at a breaching reading, so nothing else can start an alert."""
        rule = stored.rule
        assert isinstance(rule, SERIES_RULES)
        if not subjects:
            return 0
        start = tail - rule.window if isinstance(rule, RateOfChange) else tail
        keys = [s.key for s in subjects]
        try:
            samples = load_samples_of_many(conn, subjects[0].family, rule.metric, keys, start)
        except KeyError:
            return self._unknown_metric(rule)
        opened = open_subjects(conn, stored.id, keys)
        for subject in subjects:
            tail_samples = samples.get(subject.key, [])
            if isinstance(rule, RateOfChange):  # no reading in the window: no change, nothing can fire
                changes = change_series(rule, tail_samples, max(x.time for x in tail_samples)) if tail_samples else []
                could_fire = any(c.value >= rule.by for c in changes if c.time >= tail)
            else:
                own = rule.for_device(subject.labels)  # type: ignore[union-attr]
                could_fire = any(own.breaches(x.value) for x in tail_samples if x.time >= tail)
            if could_fire or subject.key in opened:
                self.evaluate(conn, stored, subject, now)
            else:
                self.stats.skipped += 1
        return len(subjects)

    def _unknown_metric(self, rule: Threshold | RateOfChange) -> NoReturn:
        """A metric its family does not have (an out-of-tree family removed...): said on the rule."""
        raise ValueError(f"{rule.metric!r} is not a metric of family {rule.scope.family!r}")

    def evaluate_series(
        self, conn: psycopg.Connection[Any], stored: StoredRule, subjects: list[Subject], now: datetime
    ) -> int:
        """One series rule over many devices: their samples in one query, their episodes computed, and the
        locked evaluation only for those whose stored alerts do not already say it (``settled``)."""
        rule = stored.rule
        assert isinstance(rule, SERIES_RULES)
        if not subjects:
            return 0
        start = now - self.lookback - series_margin(rule)
        try:
            samples = load_samples_of_many(conn, subjects[0].family, rule.metric, [s.key for s in subjects], start)
        except KeyError:  # a rule on a metric its family does not have (an out-of-tree family removed...)
            return self._unknown_metric(rule)
        computed = {s.key: series_episodes(for_device(rule, s.labels), samples.get(s.key, [])) for s in subjects}  # type: ignore[arg-type]
        quiet = settled(conn, stored.id, computed, start)
        self.stats.skipped += len(quiet)
        for subject in subjects:
            if subject.key not in quiet:
                self.evaluate(conn, stored, subject, now)
        return len(subjects)

    def evaluate_events(self, conn: psycopg.Connection[Any]) -> int:
        """Re-evaluate the event rules on every domain event raised, ended or withdrawn since the last look."""
        now = scalar(conn, "SELECT now()")
        since = (self.events_watermark or now - self.lookback) - SAFETY
        rules = self._rules(conn, (DomainEventRule,))
        rows = conn.execute(
            "SELECT e.type, e.key, e.device_id, e.family, e.occurred_at, e.ended_at, e.withdrawn, e.summary, "
            "e.attributes, coalesce(d.labels, '{}') AS labels, d.location FROM domain_events e "
            "LEFT JOIN devices d ON d.device_id = e.device_id WHERE e.changed_at >= %s ORDER BY e.id",
            (since,),
        ).fetchall() if rules else []  # fmt: skip
        done = 0
        for row in rows:
            key = f"{row['type']}:{row['key']}"
            subject = Subject(key, row["device_id"], row["family"], row["labels"], row["summary"], row["location"])
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
        """The rules whose data is time passing (absence, offline, dead-letter surge), for the devices in
        their scope: every one at the first tick (past episodes, e.g. while no worker ran), then those that
        could be in an episode now (``time_candidates``) or have an open alert."""
        now = scalar(conn, "SELECT now()")
        done = 0
        for stored in self._rules(conn, TIME_RULES):
            with self._guard(conn, stored):
                done += self._evaluate_time_rule(conn, stored, now)
        self._ticked = True
        return done

    def _evaluate_time_rule(self, conn: psycopg.Connection[Any], stored: StoredRule, now: datetime) -> int:
        family = stored.rule.scope.family
        devices = conn.execute(
            "SELECT device_id, family, labels, location FROM devices WHERE %s = '*' OR family = %s", (family, family)
        ).fetchall()
        subjects = [
            Subject(d["device_id"], d["device_id"], d["family"], d["labels"], place=d["location"])
            for d in devices
            if stored.rule.scope.covers(d["device_id"], d["family"], d["labels"])
        ]
        if self._ticked:
            keys = [s.key for s in subjects]
            wanted = time_candidates(conn, stored.rule, subjects, now) | open_subjects(conn, stored.id, keys)
            self.stats.skipped += len(subjects) - len(wanted)
            subjects = [s for s in subjects if s.key in wanted]
        for subject in subjects:
            self.evaluate(conn, stored, subject, now)
        return len(subjects)

    def _rules(self, conn: psycopg.Connection[Any], kinds: tuple[type, ...]) -> list[StoredRule]:
        """The enabled rules of ``kinds`` the evaluator can run; those it cannot are skipped, their reason
        said on the rule (``last_error``) and in the log."""
        runnable, unrunnable = load_rules(conn)
        self._failed_now = set()
        for bad in unrunnable:
            self._note_error(conn, bad.id, bad.name, f"not evaluated: {bad.reason}")
        return [r for r in runnable if isinstance(r.rule, kinds)]

    @contextmanager
    def _guard(self, conn: psycopg.Connection[Any], stored: StoredRule) -> Iterator[None]:
        """One rule's look at its subjects: a failure is said on the rule and the next rule goes on (one rule
        must not stop alerting for every other); a look without failure clears what was said."""
        try:
            yield
        except Exception as exc:
            if conn.broken or conn.closed:
                raise
            self._note_error(conn, stored.id, stored.rule.name, first_line(exc), exc)
            return
        if stored.last_error is not None and stored.id not in self._failed_now:
            note_rule_error(conn, stored.id, None)
            self._noted.pop(stored.id, None)

    def _note_error(
        self, conn: psycopg.Connection[Any], rule_id: int, name: str, error: str, exc: BaseException | None = None
    ) -> None:
        """Count, log and write on the rule why it failed (the log and the write at most every ``RENOTE_S``
        for the same error: a rule failing at every tick floods neither)."""
        self._failed_now.add(rule_id)
        self.stats.errors += 1
        self.heartbeat.error("rule", error)
        self.stats.rule_errors[name] = self.stats.rule_errors.get(name, 0) + 1
        error = error[:1000]
        noted = self._noted.get(rule_id)
        clock = time.monotonic()
        if noted is not None and noted[0] == error and clock - noted[1] < RENOTE_S:
            return
        logger.error(
            "alerts: rule not evaluated",
            extra={"rule": name, "error": error},
            exc_info=exc if exc is not None and not isinstance(exc, psycopg.Error | ValueError) else None,
        )
        try:
            note_rule_error(conn, rule_id, error)
        except psycopg.Error as db_exc:
            if conn.broken or conn.closed:
                raise
            logger.warning("alerts: could not note a rule's error", extra={"rule": name, "error": first_line(db_exc)})
            return
        self._noted[rule_id] = (error, clock)

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
            logger.error(
                "alerts: evaluation failed",
                extra={"rule": stored.rule.name, "subject": subject.key, "error": first_line(exc)},
                exc_info=not isinstance(exc, psycopg.Error),
            )
            self._note_error(conn, stored.id, stored.rule.name, f"on {subject.key}: {first_line(exc)}")

    def _evaluate(
        self, conn: psycopg.Connection[Any], stored: StoredRule, subject: Subject, now: datetime,
        event: DomainEvent | None,
    ) -> None:  # fmt: skip
        stored = StoredRule(stored.id, for_device(stored.rule, subject.labels))
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
            elif isinstance(rule, SERIES_RULES):
                start -= series_margin(rule)
                episodes = series_episodes(rule, load_samples(conn, family, rule.metric, device_id, start))
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


def time_candidates(conn: psycopg.Connection[Any], rule: Any, subjects: list[Subject], now: datetime) -> set[str]:
    """The devices that may be in an episode of a time rule now: silent longer than an absence rule's
    ``for`` (a device never heard of has no absence), offline, or with refused messages within two surge
    windows. One query per rule; what it misses (an episode over before this tick) the first tick saw."""
    keys = [s.key for s in subjects]
    if not keys:
        return set()
    if isinstance(rule, Offline):
        rows = conn.execute("SELECT device_id FROM devices WHERE device_id = ANY(%s) AND online = false", (keys,))
        return {r["device_id"] for r in rows}
    if isinstance(rule, DeadLetterSurge):
        rows = conn.execute(
            "SELECT DISTINCT device_id FROM dead_letters WHERE device_id = ANY(%s) AND last_received_at >= %s",
            (keys, now - 2 * rule.window),
        )
        return {r["device_id"] for r in rows}
    assert isinstance(rule, Absent)
    found: set[str] = set()
    by_family: dict[str, list[str]] = {}
    for s in subjects:
        by_family.setdefault(s.family, []).append(s.key)
    for family, members in by_family.items():
        table, column = series_source(family, rule.metric or _first_metric(family))
        query = sql.SQL(
            "SELECT d AS device_id, (SELECT time FROM {tab} WHERE device_id = d AND {col} IS NOT NULL AND time >= %s "
            "ORDER BY time DESC LIMIT 1) AS last FROM unnest(%s::text[]) AS d"
        ).format(tab=sql.Identifier(table), col=sql.Identifier(column))
        for r in conn.execute(query, (now - 2 * rule.for_ - timedelta(hours=1), members)):
            if r["last"] is not None and now - r["last"] > rule.for_:
                found.add(r["device_id"])
    return found
