"""PACP condition ratings (services/reports/ratings.py), checked against a published worked example and by hand."""

from __future__ import annotations

import pytest

from services.reports.ratings import Rated, by_standing, count_char, rate


def occurrences(structural: dict[int, int], service: dict[int, int]) -> list[Rated]:
    """Point defects: a crack (BAB, structural) or settled deposits (BBC, operational) per occurrence."""
    made = []
    for code, table in (("BAB", structural), ("BBC", service)):
        for grade, n in table.items():
            made += [Rated(code, grade, float(i)) for i in range(n)]
    return made


def test_the_published_grading_matrix_example() -> None:
    """Lucity's documentation of PACP's grading (help.lucity.com, "Grading System Example"): occurrences by grade
    structural 1/3/2/5/3, O&M 3/5/4/0/2 -> ratings 48 / 35 / 83, 14 / 14 / 28 occurrences, overall quick
    rating 5545 (grade 5 five times, grade 4 five times)."""
    r = rate(occurrences({1: 1, 2: 3, 3: 2, 4: 5, 5: 3}, {1: 3, 2: 5, 3: 4, 5: 2}))
    assert (r.structural.rating, r.service.rating, r.overall.rating) == (48, 35, 83)
    assert (r.structural.occurrences, r.service.occurrences, r.overall.occurrences) == (14, 14, 28)
    assert (r.structural.index, r.service.index, r.overall.index) == (3.43, 2.5, 2.96)
    assert r.overall.quick == "5545"
    assert r.structural.quick == "5345" and r.service.quick == "5234"  # 3 x 5 then 5 x 4; 2 x 5 then 4 x 3
    assert (r.structural.grade, r.service.grade, r.overall.grade) == (5, 5, 5)


def test_a_pipe_without_defects_and_codes_that_are_not_rated() -> None:
    r = rate([Rated("BDG", 5, 3.0), Rated("BCA", 2, 1.0), Rated("BAB", 0, 2.0)])  # loss of vision, a connection
    assert r.overall.quick == "0000" and r.overall.rating == 0 and r.overall.index is None and r.overall.grade == 1
    one = rate([Rated("BBF", 3, 4.0)])  # infiltration: not a code the vision finds, operational by its group
    assert one.service.quick == "3100" and one.structural.quick == "0000"


@pytest.mark.parametrize(("n", "char"), [(1, "1"), (9, "9"), (10, "A"), (14, "A"), (15, "B"), (24, "C"), (500, "Z")])
def test_counts_above_nine_are_letters_in_steps_of_five(n: int, char: str) -> None:
    assert count_char(n) == char


def test_a_continuous_defect_counts_once_per_started_five_feet() -> None:
    assert Rated("BBC", 2, 10.0, 10.0 + 1.524).occurrences == 1
    assert Rated("BBC", 2, 10.0, 10.0 + 1.6).occurrences == 2
    assert Rated("BBC", 2, 10.0, 25.24).occurrences == 10  # 15.24 m = 50 ft
    r = rate([Rated("BBC", 2, 10.0, 25.24), Rated("BAB", 4, 3.0)])
    assert r.service.rating == 20 and r.overall.quick == "412A"


def test_confirmed_trusted_and_suggested_observations_are_rated_apart() -> None:
    found = [
        (Rated("BAB", 4, 1.0), "confirmed"), (Rated("BAB", 3, 2.0), "trusted"), (Rated("BBC", 5, 3.0), "suggested"),
        (Rated("BAB", 5, 4.0), "rejected"), (Rated("BAA", 5, 5.0), "withdrawn"),
    ]  # fmt: skip
    rated = by_standing(found)
    assert rated["confirmed"].overall.quick == "4100"
    assert rated["with_trusted"].overall.quick == "4131" and rated["with_trusted"].overall.rating == 7
    assert rated["with_suggestions"].overall.quick == "5141" and rated["with_suggestions"].overall.rating == 12
