"""The episode engine: from a device's stored readings to the problems they show, in event time.

A rule is not fed messages in the order they arrive. The engine is a pure function of the readings as
stored (sorted by their own timestamps, duplicates collapsed) up to a *horizon*: the same data gives the
same episodes whatever order, however often and by however many workers it arrived. That is what makes
one alert per problem hold under redelivery, replay and scale-out (the evaluator writes episodes keyed
on (rule, subject, began_at), so two evaluators computing the same episode write the same row), and what
lets a late reading be judged at its own time: the evaluator recomputes the window it falls in.

Threshold semantics (Prometheus' ``for`` and Grafana's recovery threshold, in event time):

- *pending* begins at the first reading beyond ``fire``; any reading not beyond ``fire`` before the rule
  has fired ends it (a value hovering around the threshold never accumulates a ``for``);
- it *fires* at the first reading at least ``for`` after the beginning, if the breach held throughout and
  no silence longer than ``max_gap`` interrupted it (a silence is no evidence that it held);
- once fired it stays firing through readings between ``clear`` and ``fire`` (hysteresis) and through
  silences (that is the ``absent`` rule's business), and *clears* at the first reading past ``clear``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.alerts.rules import Absent, DeadLetterSurge, DomainEventRule, Offline, RateOfChange, Threshold


@dataclass(frozen=True, slots=True, order=True)
class Sample:
    time: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Episode:
    """One problem in event time. ``began_at`` identifies it (the rule's subject has at most one episode
    beginning at a given instant); ``fired_at`` is None while it is only pending; ``cleared_at`` is None
    while it is still on at the horizon. ``trigger`` is the reading that made it fire; ``worst`` the worst
    value it showed (None for an absence)."""

    began_at: datetime
    fired_at: datetime | None = None
    cleared_at: datetime | None = None
    trigger: Sample | None = None
    worst: float | None = None

    @property
    def firing(self) -> bool:
        return self.fired_at is not None and self.cleared_at is None

    @property
    def pending(self) -> bool:
        return self.fired_at is None and self.cleared_at is None


def _ordered(samples: Iterable[Sample], horizon: datetime) -> list[Sample]:
    """Event-time order up to the horizon; an exact duplicate (a redelivery) counts once."""
    return sorted({s for s in samples if s.time <= horizon})


def threshold_episodes(rule: Threshold, samples: Iterable[Sample], horizon: datetime) -> list[Episode]:
    """Every episode that fired, in event-time order, plus a trailing pending one if the horizon falls
    inside a breach that has not lasted ``for`` yet."""
    found: list[Episode] = []
    current: Episode | None = None
    last_seen: datetime | None = None
    for sample in _ordered(samples, horizon):
        if current is not None and current.fired_at is None:
            interrupted = last_seen is not None and sample.time - last_seen > rule.gap_limit
            if interrupted or not rule.breaches(sample.value):
                current = None  # pending ends without an alert: not held, or no evidence it held
        if current is None:
            if rule.breaches(sample.value):
                current = Episode(began_at=sample.time, worst=sample.value)
        elif current.fired_at is not None and rule.clears(sample.value):
            found.append(replace(current, cleared_at=sample.time))
            current = None
        else:
            assert current.worst is not None
            current = replace(current, worst=rule.worse(current.worst, sample.value))
        if current is not None and current.fired_at is None and sample.time - current.began_at >= rule.for_:
            current = replace(current, fired_at=sample.time, trigger=sample)
        last_seen = sample.time
    if current is not None:
        found.append(current)
    return found


def absent_episodes(rule: Absent, times: Iterable[datetime], horizon: datetime) -> list[Episode]:
    """Silences longer than ``for``: each begins at the last reading before it, fires ``for`` later and
    clears at the next reading (or is still on at the horizon). A device never heard of has none: the
    device-offline rule covers what was never seen."""
    ordered = sorted({t for t in times if t <= horizon})
    found = [
        Episode(began_at=before, fired_at=before + rule.for_, cleared_at=after)
        for before, after in zip(ordered, ordered[1:], strict=False)
        if after - before > rule.for_
    ]
    if ordered and horizon - ordered[-1] > rule.for_:
        found.append(Episode(began_at=ordered[-1], fired_at=ordered[-1] + rule.for_))
    return found


def offline_episodes(
    rule: Offline, online: bool | None, status_at: datetime | None, open_began_at: datetime | None, now: datetime
) -> list[Episode]:
    """From a device's current status: offline since ``status_at`` is an episode (firing once it lasted
    ``for``); back online after an open alert began ends that alert's episode at ``status_at``. The
    registry keeps only the current status, so a past offline period shorter than an evaluation tick is
    not seen (the status history would be: noted in docs/alerts.md)."""
    if online is False and status_at is not None:
        fired = status_at + rule.for_
        return [Episode(began_at=status_at, fired_at=fired if now >= fired else None)]
    if online and open_began_at is not None and status_at is not None and status_at >= open_began_at:
        return [Episode(began_at=open_began_at, fired_at=open_began_at + rule.for_, cleared_at=status_at)]
    return []


def surge_episodes(rule: DeadLetterSurge, arrivals: Iterable[datetime], now: datetime) -> list[Episode]:
    """Episodes where more than ``threshold`` arrivals fall within a trailing ``window``: it fires at the
    arrival that makes the count exceed it, and clears when enough arrivals have left the window (at the
    (threshold+1)-th last arrival's time plus the window), unless a new one comes first."""
    times = sorted(t for t in arrivals if t <= now)
    found: list[Episode] = []
    began: datetime | None = None
    oldest = 0
    for i, t in enumerate(times):
        while times[oldest] <= t - rule.window:
            oldest += 1
        if began is None and i - oldest + 1 > rule.threshold:
            began = t
        if began is None:
            continue
        ends = times[i - rule.threshold] + rule.window
        following = times[i + 1] if i + 1 < len(times) else None
        if following is None or following >= ends:
            found.append(Episode(began_at=began, fired_at=began, cleared_at=ends if ends <= now else None))
            began = None
    return found


def change_series(rule: RateOfChange, samples: Iterable[Sample], horizon: datetime) -> list[Sample]:
    """At each reading, how far it has moved in the rule's direction from the extreme of the trailing
    ``window`` (the lowest value for a rise, the highest for a fall): 0 when it has not moved that way.
    A monotonic deque keeps it linear in the number of readings."""
    ordered = _ordered(samples, horizon)
    rising = rule.direction == "rise"
    extremes: deque[Sample] = deque()  # candidates for the window's min (rise) or max (fall), oldest first
    changes = []
    for sample in ordered:
        while extremes and (extremes[-1].value >= sample.value if rising else extremes[-1].value <= sample.value):
            extremes.pop()
        extremes.append(sample)
        while extremes[0].time < sample.time - rule.window:
            extremes.popleft()
        change = sample.value - extremes[0].value if rising else extremes[0].value - sample.value
        changes.append(Sample(sample.time, change))
    return changes


def rate_episodes(rule: RateOfChange, samples: Iterable[Sample], horizon: datetime) -> list[Episode]:
    """Threshold episodes of the change series: fires at the reading whose change reaches ``by``, its
    trigger and worst value are changes (how far it moved), it clears when the change is under ``clear``."""
    return threshold_episodes(rule.as_threshold(), change_series(rule, samples, horizon), horizon)


def series_episodes(rule: Threshold | RateOfChange, samples: list[Sample]) -> list[Episode]:
    """A series rule's episodes over a device's stored samples, up to the newest of them (its horizon)."""
    if not samples:
        return []
    horizon = max(s.time for s in samples)
    if isinstance(rule, RateOfChange):
        return rate_episodes(rule, samples, horizon)
    return threshold_episodes(rule, samples, horizon)


def series_margin(rule: Threshold | RateOfChange) -> timedelta:
    """How far before its evaluation window a series rule needs readings (its gap limit, or its window)."""
    return rule.window if isinstance(rule, RateOfChange) else rule.gap_limit


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A domain event as the evaluator reads it (core/domain_events.py writes them)."""

    type: str
    key: str
    occurred_at: datetime
    ended_at: datetime | None
    withdrawn: bool
    attributes: dict[str, object]


def event_episodes(rule: DomainEventRule, event: DomainEvent) -> list[Episode]:
    """One episode for an event the rule matches (firing when it occurred, cleared when it ended); none
    for an event withdrawn or no longer matching, so that an alert raised for it is retracted. Its worst
    value is the attribute the rule's first ordering condition tests (a grade), if any."""
    if event.type != rule.event or event.withdrawn or not rule.matches(event.attributes):
        return []
    measured = next((c.attribute for c in rule.when if c.op in ("gt", "gte", "lt", "lte")), None)
    value = event.attributes.get(measured) if measured else None
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return [Episode(began_at=event.occurred_at, fired_at=event.occurred_at, cleared_at=event.ended_at, worst=number)]
