"""The episode engine and the rule models: `for`, hysteresis, flapping, late, out-of-order and duplicated
readings, silences; every case on readings as a device would send them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from services.alerts.engine import (
    DomainEvent,
    Episode,
    Sample,
    absent_episodes,
    event_episodes,
    rate_episodes,
    threshold_episodes,
)
from services.alerts.rules import Absent, DomainEventRule, RateOfChange, Rule, Scope, Threshold

T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def series(*points: tuple[float, float]) -> list[Sample]:
    """(minutes after T0, value) pairs."""
    return [Sample(at(m), v) for m, v in points]


def h2s(**overrides: object) -> Threshold:
    """The drone pack's H2S rule: >= 10 ppm, clear below 8 ppm."""
    fields = {
        "name": "h2s-high",
        "scope": {"family": "bathy"},
        "severity": "critical",
        "service": "sanitation",
        "metric": "h2s_ppm",
        "direction": "above",
        "fire": 10.0,
        "clear": 8.0,
        "for": timedelta(minutes=1),
        **overrides,
    }
    return Threshold.model_validate(fields)


def frost() -> Threshold:
    """The garden pack's frost rule: <= 1 degC for 10 min, clear at >= 3 degC."""
    return h2s(
        name="frost", metric="air_temp_c", direction="below", fire=1.0, clear=3.0, **{"for": timedelta(minutes=10)}
    )


def test_a_breach_shorter_than_for_is_only_pending_and_then_nothing() -> None:
    rule = h2s()
    assert threshold_episodes(rule, series((0, 12), (0.5, 12)), FAR) == [Episode(at(0), worst=12)]
    assert threshold_episodes(rule, series((0, 12), (0.5, 12), (0.75, 5)), FAR) == []


def test_it_fires_at_the_first_reading_that_has_held_for_its_duration() -> None:
    (episode,) = threshold_episodes(h2s(), series((0, 11), (0.5, 12), (1, 15), (1.5, 13)), FAR)
    assert episode.began_at == at(0) and episode.fired_at == at(1) and episode.trigger == Sample(at(1), 15)
    assert episode.firing and episode.cleared_at is None and episode.worst == 15


def test_hysteresis_keeps_one_alert_until_the_clear_threshold_is_crossed() -> None:
    readings = series((0, 12), (1, 12), (2, 9.5), (3, 10.5), (4, 8.5), (5, 7.9), (6, 12))
    first, second = threshold_episodes(h2s(), readings, FAR)
    assert (first.began_at, first.fired_at, first.cleared_at) == (at(0), at(1), at(5))
    assert second.began_at == at(6) and second.pending  # a new breach: pending again


def test_a_value_flapping_around_the_threshold_never_fires_nor_flaps() -> None:
    rule = h2s()
    flapping = series(*[(i * 0.25, 10.1 if i % 2 else 9.9) for i in range(40)])
    assert [e for e in threshold_episodes(rule, flapping, FAR) if e.fired_at] == []
    # once it has fired, the same flapping stays one alert: 9.9 is not below the clear threshold
    fired_then_flapping = series((0, 11), (1, 11), *[(1 + i * 0.25, 10.1 if i % 2 else 9.9) for i in range(1, 40)])
    (episode,) = threshold_episodes(rule, fired_then_flapping, FAR)
    assert episode.firing


def test_the_order_of_arrival_and_redeliveries_change_nothing() -> None:
    readings = series(*[(i, v) for i, v in enumerate([5, 12, 12, 13, 9, 7, 11, 11, 11, 6, 12])])
    expected = threshold_episodes(h2s(), readings, FAR)
    shuffled = readings + readings[:4]  # duplicated deliveries
    random.Random(7).shuffle(shuffled)
    assert threshold_episodes(h2s(), shuffled, FAR) == expected
    assert [(e.began_at, e.fired_at, e.cleared_at) for e in expected] == [
        (at(1), at(2), at(5)),
        (at(6), at(7), at(9)),
        (at(10), None, None),
    ]


def test_a_late_reading_is_judged_at_its_own_time_so_no_phantom_alert() -> None:
    """Highs at 0, 5, 15 and 20 min arrive; the low of 10 min comes late. In arrival order that is a
    20-minute breach (a phantom alert); in event time the breach never held 15 minutes."""
    rule = h2s(**{"for": timedelta(minutes=15)})
    before_the_late_one = series((0, 12), (5, 12), (15, 12), (20, 12))
    assert threshold_episodes(rule, before_the_late_one, FAR)[0].fired_at == at(15)
    with_it = series((0, 12), (5, 12), (10, 9), (15, 12), (20, 12))
    assert threshold_episodes(rule, with_it, FAR) == [Episode(at(15), worst=12)]


def test_only_readings_up_to_the_horizon_count() -> None:
    readings = series((0, 12), (1, 12), (2, 3))
    (episode,) = threshold_episodes(h2s(), readings, horizon=at(1.5))
    assert episode.firing and episode.cleared_at is None


def test_a_silence_breaks_a_pending_breach_but_never_clears_a_firing_one() -> None:
    rule = h2s(**{"for": timedelta(minutes=10), "max_gap": timedelta(minutes=3)})
    silent_while_pending = series((0, 12), (2, 12), (9, 12), (12, 12))
    (episode,) = threshold_episodes(rule, silent_while_pending, FAR)
    assert episode.began_at == at(9) and episode.pending  # the count starts again after the silence
    silent_while_firing = series((0, 12), (2, 12), (4, 12), (6, 12), (8, 12), (10, 12), (40, 12))
    (episode,) = threshold_episodes(rule, silent_while_firing, FAR)
    assert episode.fired_at == at(10) and episode.firing


def test_a_rule_on_low_values_mirrors_one_on_high_values() -> None:
    readings = series((0, 0.5), (5, 0.2), (10, -1.0), (20, 2.0), (30, 3.5))
    (episode,) = threshold_episodes(frost(), readings, FAR)
    assert (episode.fired_at, episode.cleared_at, episode.worst) == (at(10), at(30), -1.0)


def test_for_zero_fires_on_the_first_breaching_reading() -> None:
    (episode,) = threshold_episodes(h2s(**{"for": timedelta(0)}), series((3, 10)), FAR)
    assert episode.fired_at == episode.began_at == at(3)


def test_silences_longer_than_the_rule_are_absences() -> None:
    rule = Absent.model_validate(
        {
            "name": "silent",
            "scope": {"family": "ptipot"},
            "severity": "warning",
            "service": "green_spaces",
            "for": timedelta(hours=2),
        }
    )
    times = [at(0), at(60), at(60 + 150), at(60 + 150)]
    first, second = absent_episodes(rule, times, horizon=at(600))
    assert (first.began_at, first.fired_at, first.cleared_at) == (at(60), at(180), at(210))
    assert second.began_at == at(210) and second.fired_at == at(330) and second.firing
    assert absent_episodes(rule, [], horizon=at(600)) == []


def test_rules_refuse_what_would_make_no_sense() -> None:
    with pytest.raises(ValidationError, match="clear"):
        h2s(clear=12.0)
    with pytest.raises(ValidationError, match="clear"):
        h2s(direction="below", fire=19.0, clear=18.0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        h2s(threshold=3)
    with pytest.raises(ValidationError):
        h2s(name="Has Spaces")
    parsed = TypeAdapter(Rule).validate_python(
        {
            "kind": "absent",
            "name": "silent",
            "scope": {"family": "ptipot"},
            "severity": "warning",
            "service": "green_spaces",
            "for": "PT2H",
        }
    )
    assert isinstance(parsed, Absent) and parsed.for_ == timedelta(hours=2)


def test_every_default_pack_parses_and_watches_metrics_its_family_has() -> None:
    from device_adapters.registry import FAMILIES, metric_catalog
    from services.alerts.packs import all_packs, default_rules
    from services.auth.roles import Role

    for family in FAMILIES:
        for rule in default_rules(family):  # its own pack's and its capabilities' copies for it
            assert rule.scope.family == family.name
            assert Role(rule.service), rule.name
            metric = getattr(rule, "metric", None)
            assert metric is None or (family.name, metric) in metric_catalog(), f"{rule.name}: {metric}"
    names = [rule.name for _, rules in all_packs() for rule in rules]
    assert len(names) == len(set(names)) and {"drone-h2s-short-term", "garden-frost"} <= set(names)
    assert {"platform-device-offline", "platform-dead-letter-surge"} <= set(names)


def test_offline_fires_after_its_duration_and_clears_when_the_device_is_back() -> None:
    from services.alerts.engine import offline_episodes
    from services.alerts.rules import Offline

    rule = Offline.model_validate(
        {"name": "off", "scope": {"family": "*"}, "severity": "warning", "service": "operator", "for": "PT15M"}
    )
    assert offline_episodes(rule, False, at(0), None, now=at(10)) == [Episode(at(0))]  # pending
    (firing,) = offline_episodes(rule, False, at(0), None, now=at(16))
    assert firing.fired_at == at(15) and firing.firing
    (back,) = offline_episodes(rule, True, at(20), open_began_at=at(0), now=at(21))
    assert (back.began_at, back.cleared_at) == (at(0), at(20))
    assert offline_episodes(rule, True, at(20), None, now=at(21)) == []
    assert offline_episodes(rule, None, None, None, now=at(21)) == []  # never said anything


def test_a_surge_of_refused_messages_fires_and_clears_when_the_window_empties() -> None:
    from services.alerts.engine import surge_episodes
    from services.alerts.rules import DeadLetterSurge

    rule = DeadLetterSurge.model_validate(
        {"name": "surge", "scope": {"family": "*"}, "severity": "warning", "service": "operator",
         "threshold": 3, "window": "PT5M"}
    )  # fmt: skip
    assert surge_episodes(rule, [at(0), at(1), at(2)], now=at(3)) == []  # 3 is not more than 3
    (burst,) = surge_episodes(rule, [at(0), at(1), at(2), at(3)], now=at(4))
    assert burst.began_at == burst.fired_at == at(3) and burst.firing  # 4 within 5 min
    (over,) = surge_episodes(rule, [at(0), at(1), at(2), at(3)], now=at(10))
    assert over.cleared_at == at(5)  # when the first of the four left the window
    slow = [at(2 * k) for k in range(10)]  # one every 2 min: never 4 within 5 min
    assert surge_episodes(rule, slow, now=at(30)) == []
    two = surge_episodes(rule, [at(0), at(1), at(2), at(3), at(20), at(20.5), at(21), at(21.5)], now=at(40))
    assert [(e.began_at, e.cleared_at) for e in two] == [(at(3), at(5)), (at(21.5), at(25))]


def water_rise(**overrides: object) -> RateOfChange:
    """The drone pack's surge rule: the water level up by 20 points within 2 minutes."""
    fields = {"name": "water-rise", "scope": {"family": "bathy"}, "severity": "critical", "service": "sanitation",
              "metric": "water_level_pct", "direction": "rise", "by": 20.0, "window": timedelta(minutes=2),
              "clear": 10.0, **overrides}  # fmt: skip
    return RateOfChange.model_validate(fields)


def test_a_fast_rise_fires_and_clears_once_the_window_has_flattened() -> None:
    level = series((0, 10), (0.5, 11), (1, 18), (1.5, 31), (2, 35), (3, 36), (3.5, 36), (4, 36))
    (episode,) = rate_episodes(water_rise(), level, FAR)
    assert episode.began_at == at(1.5) and episode.fired_at == at(1.5)
    assert episode.trigger == Sample(at(1.5), 21)  # 31 against the window's lowest, 10 at 0 min
    assert episode.worst == 25  # 35 against 10 (2 min back: still inside the window)
    assert episode.cleared_at == at(3.5)  # 36 against 31 at 1.5 min: a change of 5, under the clear 10


def test_a_slow_rise_and_a_fall_do_not_fire_a_rise_rule() -> None:
    slow = series(*[(m, 10 + 3 * m) for m in range(0, 20)])  # 60 points in 20 minutes, 6 per 2 minutes
    assert rate_episodes(water_rise(), slow, FAR) == []
    falling = series((0, 80), (1, 50), (2, 20))
    assert rate_episodes(water_rise(), falling, FAR) == []
    (drop,) = rate_episodes(water_rise(direction="fall"), falling, FAR)
    assert drop.began_at == at(1) and drop.worst == 60


def test_readings_further_apart_than_the_window_show_no_rate() -> None:
    sparse = series((0, 10), (5, 50), (10, 90))
    assert rate_episodes(water_rise(), sparse, FAR) == []


def test_a_rate_is_the_same_whatever_the_arrival_order() -> None:
    level = series(*[(m / 2, v) for m, v in enumerate([10, 12, 30, 40, 41, 41, 20, 15, 40, 41, 41, 41, 41])])
    expected = rate_episodes(water_rise(), level, FAR)
    shuffled = level + level[3:6]
    random.Random(11).shuffle(shuffled)
    assert rate_episodes(water_rise(), shuffled, FAR) == expected
    assert [(e.began_at, e.cleared_at) for e in expected] == [(at(1), at(3)), (at(4), at(6))]


def test_rate_rules_refuse_a_clear_change_above_the_firing_one() -> None:
    with pytest.raises(ValidationError, match="clear"):
        water_rise(clear=30.0)
    with pytest.raises(ValidationError):
        water_rise(by=0)


def defect_rule() -> DomainEventRule:
    return DomainEventRule.model_validate(
        {"kind": "event", "name": "pipe-defect-grade-4", "scope": {"family": "bathy"}, "severity": "critical",
         "service": "sanitation", "event": "pipe_defect", "when": [{"attribute": "grade", "op": "gte", "value": 4}]}
    )  # fmt: skip


def defect(grade: object, **overrides: object) -> DomainEvent:
    fields: dict = {"type": "pipe_defect", "key": "observation:7", "occurred_at": at(0), "ended_at": None,
                    "withdrawn": False, "attributes": {"grade": grade, "code": "BAB"}, **overrides}  # fmt: skip
    return DomainEvent(**fields)


def test_an_event_fires_when_its_conditions_hold_and_not_otherwise() -> None:
    rule = defect_rule()
    (episode,) = event_episodes(rule, defect(4))
    assert episode == Episode(began_at=at(0), fired_at=at(0), worst=4.0)
    assert event_episodes(rule, defect(3)) == []
    assert event_episodes(rule, defect("4")) == []  # a number in a string is not ordered against a number
    assert event_episodes(rule, defect(True)) == []
    assert event_episodes(rule, defect(5, attributes={"code": "BAB"})) == []  # no grade at all
    assert event_episodes(rule, defect(5, type="dumping_suspected")) == []


def test_an_ended_event_clears_and_a_withdrawn_one_has_no_episode() -> None:
    (ended,) = event_episodes(defect_rule(), defect(5, ended_at=at(30)))
    assert ended.cleared_at == at(30)
    assert event_episodes(defect_rule(), defect(5, withdrawn=True)) == []


def test_a_scope_narrows_by_devices_and_every_label() -> None:
    scope = Scope(family="ptipot", labels={"garden": "jardin-des-plantes", "bed": "north"})
    assert scope.covers("g1", "ptipot", {"garden": "jardin-des-plantes", "bed": "north", "crop": "beans"})
    assert not scope.covers("g1", "ptipot", {"garden": "jardin-des-plantes"})
    assert not scope.covers("g1", "bathy", {"garden": "jardin-des-plantes", "bed": "north"})
    assert Scope(family="*").covers("any", "bathy", {})
    assert not Scope(family="*", devices=["a"]).covers("b", "bathy", {})
    with pytest.raises(ValidationError):
        Scope(family="ptipot", labels={"Not A Key": "x"})


def test_a_device_label_gives_a_threshold_its_own_value_and_keeps_the_hysteresis() -> None:
    rule = frost().model_copy(update={"fire_label": "frost_below_c"})
    own = rule.for_device({"frost_below_c": "2.5"})
    assert (own.fire, own.clear) == (2.5, 4.5)  # clear keeps its 2 degrees
    assert threshold_episodes(own, series((0, 2.0), (10, 2.0)), FAR)[0].fired_at == at(10)
    assert threshold_episodes(rule, series((0, 2.0), (10, 2.0)), FAR) == []
    for unusable in ({}, {"frost_below_c": "cold"}, {"frost_below_c": "nan"}, {"frost_below_c": "inf"}):
        assert rule.for_device(unusable) is rule, unusable


def test_every_default_rule_can_fire_at_its_family_s_cadence() -> None:
    """A rule whose allowed gap is shorter than the family's cadence can never hold for its duration: the
    garden pack's frost rule (for 10 min, gap defaulting to 10 min) never fired for sensors reading every 15
    minutes, as their README says they do (found by a probe of issue 22)."""
    from device_adapters.registry import FAMILIES
    from services.alerts.packs import family_pack

    for family in FAMILIES:
        if family.reports_every is None:
            continue
        step = family.reports_every.total_seconds() / 60
        for rule in family_pack(family):
            if not isinstance(rule, Threshold):
                continue
            below = rule.direction == "below"
            value = rule.fire - 1 if below else rule.fire + 1
            n = int(rule.for_.total_seconds() / 60 / step) + 2
            episodes = threshold_episodes(rule, series(*((k * step, value) for k in range(n))), FAR)
            assert episodes and episodes[0].firing, (
                f"{family.name}'s {rule.name} never fires at a reading every {step:g} min"
            )
