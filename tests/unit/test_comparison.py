"""Two inspections of a pipe compared (services/reports/comparison.py): matched by code, distance and clock."""

from __future__ import annotations

from services.reports.comparison import Seen, compare


def seen(i: int, code: str, start: float, clock: tuple[int | None, int | None] = (None, None), finish=None) -> Seen:
    return Seen(i, code, start, finish, clock[0], clock[1], 3)


def test_same_code_near_enough_and_on_the_same_part_of_the_wall_is_one_defect() -> None:
    drone = [seen(1, "BAB", 7.5, (1, 3)), seen(2, "BBC", 12.0, (5, 7)), seen(3, "BAB", 20.0, (9, 10))]
    contractor = [
        seen(11, "BAB", 7.9, (2, 4)),  # 0.4 m away, clocks overlap: the same crack
        seen(12, "BBC", 12.6, (5, 7)),  # 0.6 m: beyond the tolerance
        seen(13, "BAB", 20.2, (3, 3)),  # near, but the other side of the pipe
        seen(14, "BAA", 7.5, (1, 3)),  # another code
    ]
    found = compare(drone, contractor)
    assert [(a.id, b.id) for a, b, _ in found.matched] == [(1, 11)]
    assert [o.id for o in found.only_a] == [2, 3] and [o.id for o in found.only_b] == [12, 13, 14]
    summary = found.as_dict("drone", "contractor")["summary"]
    assert summary == {"found_by_both": 1, "only_drone": 2, "only_contractor": 3,
                       "share_of_contractor_found_by_drone": 0.25}  # fmt: skip
    assert compare(drone, contractor, tolerance_m=0.7).as_dict()["summary"]["found_by_both"] == 2


def test_clock_ranges_meet_across_twelve_and_within_an_hour() -> None:
    crown = [seen(1, "BAB", 5.0, (11, 1))]
    assert compare(crown, [seen(2, "BAB", 5.0, (2, 2))]).matched  # 1 h and 2 h: within an hour
    assert not compare(crown, [seen(2, "BAB", 5.0, (4, 5))]).matched
    assert not compare(crown, [seen(2, "BAB", 5.0, (2, 2))], clock_slack=0).matched
    assert compare(crown, [seen(2, "BAB", 5.0)]).matched  # no clock: meets any


def test_each_is_matched_once_closest_first() -> None:
    a = [seen(1, "BAB", 5.0), seen(2, "BAB", 5.4)]
    b = [seen(3, "BAB", 5.35)]
    found = compare(a, b)
    assert [(x.id, y.id) for x, y, _ in found.matched] == [(2, 3)] and [o.id for o in found.only_a] == [1]


def test_continuous_defects_match_when_their_extents_overlap() -> None:
    a = [seen(1, "BBC", 10.0, (5, 7), finish=18.0)]
    b = [seen(2, "BBC", 14.0, (6, 6), finish=25.0), seen(3, "BBC", 30.0, (6, 6))]
    found = compare(a, b)
    assert [(x.id, y.id, gap) for x, y, gap in found.matched] == [(1, 2, 0.0)]


def test_an_inspection_run_the_other_way_is_turned_before_matching() -> None:
    downstream = [seen(1, "BAB", 7.5, (2, 3)), seen(2, "BBC", 10.0, (5, 7), finish=14.0)]
    # the same pipe (40 m) from the other manhole: 32.5 m, the crack on the other side of the crown
    upstream = [seen(11, "BAB", 32.5, (9, 10)), seen(12, "BBC", 26.0, (5, 7), finish=30.0)]
    assert not compare(downstream, upstream).matched
    found = compare(downstream, upstream, flip_b_over=40.0)
    assert [(a.id, b.id) for a, b, _ in found.matched] == [(1, 11), (2, 12)]
    turned = found.matched[1][1]
    assert (turned.start_m, turned.finish_m, turned.clock_from, turned.clock_to) == (10.0, 14.0, 5, 7)
