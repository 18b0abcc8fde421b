"""The scorer: matching by code, chainage (0.5 m) and clock (one hour); each truth matched once."""

from __future__ import annotations

from services.vision.scoring import Located, clock_hours, matches, score


def crack(start: float, end: float | None = None, clock: tuple[int, int] = (1, 2), code: str = "BAB") -> Located:
    return Located(code, start, end, *clock)


def test_clock_ranges_read_clockwise_through_twelve() -> None:
    assert clock_hours(10, 2) == {10, 11, 12, 1, 2}
    assert clock_hours(3, 3) == {3}
    assert clock_hours(12, 12, widen=1) == {11, 12, 1}


def test_a_match_needs_the_code_the_chainage_and_the_clock() -> None:
    truth = crack(10.0, 11.0, (1, 2))
    assert matches(crack(11.4, None, (2, 3)), truth)  # 0.4 m after its end, an hour from its range
    assert not matches(crack(11.6, None, (1, 2)), truth)  # 0.6 m after
    assert not matches(crack(10.5, None, (4, 5)), truth)  # two hours away
    assert not matches(crack(10.5, None, (1, 2), code="BBA"), truth)
    assert matches(crack(9.6, 12.0, (11, 1)), truth)  # overlapping ranges


def test_precision_and_recall_per_code_with_each_truth_matched_once() -> None:
    truth = [crack(10.0), crack(20.0), Located("BBA", 30.0, None, 12, 12)]
    found = [crack(10.2), crack(10.3), crack(40.0), Located("BBA", 30.1, None, 1, 1)]
    result = score(found, truth).as_dict()
    assert result["BAB"] == {"tp": 1, "fp": 2, "fn": 1, "precision": 1 / 3, "recall": 0.5}
    assert result["BBA"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
    assert score([], []).as_dict() == {}
