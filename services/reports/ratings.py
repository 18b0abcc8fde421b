"""Condition ratings of a pipe segment from its observations' grades (issue 23, item 2), the PACP way.

NASSCO's Pipeline Assessment Certification Program (PACP, Appendix C of its manual) weighs a pipe by how many
defects it has and how bad, not by its worst one alone: a pipe with five grade-4 holes is worse than one with a
single hole. For each kind (structural, operation and maintenance):

- the **pipe rating** is the sum over grades of grade x occurrences;
- the **rating index** is that rating divided by the occurrences (the mean grade);
- the **quick rating** is four characters: the highest grade and its occurrences, then the next grade present
  and its occurrences (``5342``: three grade-5, two grade-4); ``0000`` without defects. Counts above 9 are
  written with letters in steps of five (A = 10-14, B = 15-19, ...), PACP's convention;
- overall: the same over both kinds.

A continuous defect (an observation with a finish distance) counts one occurrence per started 1.524 m (5 ft,
PACP's unit) of its length. EN 13508-2 codes are sorted into structural and operational as the vision grades
them (``services.vision.grades.family_of``), and any other code by the standard's own grouping: ``BA…``
(structural defects) and ``BB…`` (operational defects); the rest (inventory and other codes: a loss of vision,
a photo) is not rated.
The segment's grade on the 1-5 scale is the highest grade present (the quick rating's first character), so a
single grade-5 collapse makes a grade-5 pipe whatever the rest; the ratings and indexes say how much there is of
it. The report names the method (``METHOD``). Observations are rated three times, as they stand
(``by_standing``): confirmed by a person only; with the automatic ones whose code is trusted; with the
suggestions too.

Checked against a published worked example (tests/unit/test_ratings.py: Lucity's PACP grading matrix, 48 / 35
/ 83, indexes 3.43 / 2.5 / 2.96, overall quick rating 5545).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.vision.grades import family_of

METHOD = "PACP (NASSCO), Appendix C"
CONTINUOUS_STEP_M = 1.524  # PACP counts a continuous defect once per 5 ft


@dataclass(frozen=True)
class Rated:
    """One observation as the ratings see it."""

    code: str
    grade: int | None  # None: a code the grade table does not grade (an imported file's): not rated, counted
    start_m: float
    finish_m: float | None = None  # a continuous defect's finish

    @property
    def occurrences(self) -> int:
        if self.finish_m is None or self.finish_m <= self.start_m:
            return 1
        return max(1, math.ceil(round((self.finish_m - self.start_m) / CONTINUOUS_STEP_M, 9)))


@dataclass(frozen=True)
class KindRating:
    occurrences_by_grade: dict[int, int] = field(default_factory=dict)

    @property
    def occurrences(self) -> int:
        return sum(self.occurrences_by_grade.values())

    @property
    def rating(self) -> int:
        return sum(grade * n for grade, n in self.occurrences_by_grade.items())

    @property
    def index(self) -> float | None:
        return round(self.rating / self.occurrences, 2) if self.occurrences else None

    @property
    def quick(self) -> str:
        present = sorted((g for g, n in self.occurrences_by_grade.items() if n), reverse=True)[:2]
        text = "".join(f"{g}{count_char(self.occurrences_by_grade[g])}" for g in present)
        return text.ljust(4, "0")

    @property
    def grade(self) -> int:
        """The segment's grade on the 1-5 scale: the highest grade present (1 without defects)."""
        return max((g for g, n in self.occurrences_by_grade.items() if n), default=1)


@dataclass(frozen=True)
class Ratings:
    structural: KindRating
    service: KindRating
    overall: KindRating
    method: str = METHOD
    ungraded: int = 0  # structural or service observations left out: their code has no grade here

    def as_dict(self) -> dict[str, object]:
        kinds = (("structural", self.structural), ("service", self.service), ("overall", self.overall))
        return {
            kind: {"rating": r.rating, "index": r.index, "quick": r.quick, "occurrences": r.occurrences,
                   "grade": r.grade, "occurrences_by_grade": dict(sorted(r.occurrences_by_grade.items()))}
            for kind, r in kinds
        } | {"method": self.method, "ungraded": self.ungraded}  # fmt: skip


def count_char(n: int) -> str:
    """A quick rating's count: 1-9 as digits, then A = 10-14, B = 15-19, ... (PACP)."""
    if n <= 9:
        return str(n)
    return chr(ord("A") + min((n - 10) // 5, 25))


def by_standing(observations: Iterable[tuple[Rated, str]]) -> dict[str, Ratings]:
    """Ratings of (observation, standing) pairs, standing as services/vision/review.py says it (confirmed,
    trusted, suggested; rejected and withdrawn are never rated): confirmed only, then adding the trusted
    automatic ones, then the suggestions too."""
    pairs = list(observations)
    return {
        "confirmed": rate(o for o, s in pairs if s == "confirmed"),
        "with_trusted": rate(o for o, s in pairs if s in ("confirmed", "trusted")),
        "with_suggestions": rate(o for o, s in pairs if s in ("confirmed", "trusted", "suggested")),
    }


def kind_of(code: str) -> str | None:
    """ "structural", "service" or None (not rated)."""
    known = family_of(code)
    if known is not None:
        return known
    return "structural" if code.startswith("BA") else "service" if code.startswith("BB") else None


def rate(observations: Iterable[Rated]) -> Ratings:
    by_kind: dict[str, Counter[int]] = {"structural": Counter(), "service": Counter()}
    ungraded = 0
    for o in observations:
        kind = kind_of(o.code)
        if kind is None:
            continue
        if o.grade is None or not 1 <= o.grade <= 5:
            ungraded += 1
            continue
        by_kind[kind][o.grade] += o.occurrences
    overall = by_kind["structural"] + by_kind["service"]
    return Ratings(
        KindRating(dict(by_kind["structural"])),
        KindRating(dict(by_kind["service"])),
        KindRating(dict(overall)),
        ungraded=ungraded,
    )
