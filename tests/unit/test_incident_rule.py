"""The incident rule (services/incidents/rule.py): stationary time, false positives, track splits,
duplicates, context, clearance."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.incidents.rule import Policy, Track, iou, suspicions

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
COUCH = (610, 390, 800, 541)


def track(event_id: str, label: str = "couch", *, start: float = 0, seen: float = 300, end: float | None = None,
          box: tuple[int, int, int, int] = COUCH, zones: tuple[str, ...] = ("collection_point",),
          stationary: bool = True, false_positive: bool = False, device: str = "cam-1") -> Track:  # fmt: skip
    """A track that began ``start`` seconds after T0, last seen ``seen`` seconds after it began."""
    began = T0 + timedelta(seconds=start)
    return Track(
        event_id, device, label, box, zones, began, began + timedelta(seconds=seen),
        None if end is None else began + timedelta(seconds=end), stationary, false_positive,
    )  # fmt: skip


def test_a_couch_still_longer_than_the_dwell_time_is_one_suspicion() -> None:
    (found,) = suspicions([track("couch-1", seen=300)], Policy(dwell=timedelta(minutes=2)))
    assert found.tracks == ("couch-1",) and found.zone == "collection_point"
    assert found.began_at == T0 and found.suspected_at == T0 + timedelta(minutes=2) and found.cleared_at is None


def test_not_long_enough_moving_or_a_false_positive_is_not_suspected() -> None:
    policy = Policy(dwell=timedelta(minutes=2))
    assert suspicions([track("short", seen=60)], policy) == []
    assert suspicions([track("moving", stationary=False)], policy) == []
    assert suspicions([track("fp", false_positive=True)], policy) == []
    assert suspicions([track("van", label="car")], policy) == []  # not a dumping label
    assert suspicions([track("elsewhere", zones=("street",))], Policy(zones=frozenset({"collection_point"}))) == []


def test_duplicates_and_order_change_nothing() -> None:
    tracks = [track("couch-1"), track("bag-1", label="bag", start=5000, box=(10, 10, 50, 60))]
    expected = suspicions(tracks)
    shuffled = tracks * 3
    random.Random(1).shuffle(shuffled)
    assert suspicions(shuffled) == expected and len(expected) == 2


def test_a_track_split_is_the_same_object() -> None:
    """Frigate loses the couch behind a passer-by and starts a new track for it 40 s later: one incident,
    which keeps its first track's identity."""
    first = track("couch-1", seen=200, end=200)
    again = track("couch-2", start=240, seen=900, box=(612, 392, 798, 540))
    (found,) = suspicions([again, first])
    assert found.tracks == ("couch-1", "couch-2") and found.key == "couch-1" and found.cleared_at is None


def test_another_object_apart_in_space_or_time_is_another_incident() -> None:
    elsewhere = track("couch-far", start=240, box=(10, 10, 120, 90))
    much_later = track("couch-later", start=200 + 3600, box=COUCH)
    first = track("couch-1", seen=200, end=200)
    assert len(suspicions([first, elsewhere, much_later])) == 3
    assert len(suspicions([first, replace(elsewhere, device_id="cam-2", box=COUCH)])) == 2  # another camera


def test_vehicles_and_persons_just_before_are_context() -> None:
    van = track("van-1", label="car", start=-120, seen=100, end=100, box=(300, 280, 700, 560))
    person = track("person-1", label="person", start=-60, seen=50, end=50, box=(500, 300, 560, 500))
    passer_by = track("person-2", label="person", start=-3000, seen=20, end=20)
    other_zone = track("car-2", label="car", start=-30, zones=("street",))
    (found,) = suspicions([track("couch-1"), van, person, passer_by, other_zone])
    assert found.context == ("person-1", "van-1")


def test_the_object_gone_clears_it() -> None:
    (found,) = suspicions([track("couch-1", seen=3000, end=3000)])
    assert found.cleared_at == T0 + timedelta(seconds=3000)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 10, 20, 20)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 50 / 150) < 1e-9


def test_a_new_object_on_the_spot_of_one_taken_away_is_a_new_incident() -> None:
    """Seen on `./lab run`: a couch dumped 6 minutes after the previous one on the same spot was taken away
    joined the previous (cleared) incident, so no alert was raised for it."""
    taken_away = track("couch-old", seen=600, end=600)
    new_couch = track("couch-new", start=600 + 360, seen=600)
    found = suspicions([taken_away, new_couch])
    assert [s.tracks for s in found] == [("couch-old",), ("couch-new",)]
    assert found[0].cleared_at is not None and found[1].cleared_at is None


def test_a_couch_dumped_the_split_window_after_the_last_was_taken_away_is_a_new_incident() -> None:
    """Seen on `./lab run` for 10 minutes (issue 19): the simulator's couch is taken away at 270 s of its
    6-minute scene and the next one appears at 390 s, 120 s later: exactly the split window, which joined
    it (`<=`) to the cleared incident: no incident, no alert. A successor must begin strictly within the
    window, and a lost track's successor comes within seconds, far less than a scene's gap."""
    taken_away = track("couch-old", start=30, seen=240, end=240)
    for gap in (120, 119.5, 100):
        new_couch = track(f"couch-new-{gap}", start=270 + gap, seen=240)
        found = suspicions([taken_away, new_couch])
        assert [s.tracks for s in found] == [("couch-old",), (new_couch.event_id,)], gap
    lost = track("couch-lost", start=270 + 40, seen=240)  # lost behind a passer-by, found 40 s on
    (found,) = suspicions([taken_away, lost])
    assert found.tracks == ("couch-old", "couch-lost")
