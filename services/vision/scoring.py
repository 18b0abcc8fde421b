"""Scoring observations against ground truth: precision and recall per code (issue 11, item 2).

An observation matches a true defect when the code is the same, their chainage ranges are at most 0.5 m
apart (overlapping counts as 0), and their clock ranges at most one hour apart. Each true defect is
matched at most once (greedily, the closest chainage first): a defect reported twice is one true positive
and one false positive, as a reviewer would count it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

CHAINAGE_TOLERANCE_M = 0.5
CLOCK_TOLERANCE_H = 1


@dataclass(frozen=True)
class Located:
    """What scoring needs of an observation or of a true defect."""

    code: str
    chainage_start_m: float
    chainage_end_m: float | None
    clock_from: int
    clock_to: int

    @property
    def end(self) -> float:
        return self.chainage_end_m if self.chainage_end_m is not None else self.chainage_start_m


@dataclass
class CodeScore:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float | None:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else None

    @property
    def recall(self) -> float | None:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else None


@dataclass
class Score:
    by_code: dict[str, CodeScore] = field(default_factory=dict)

    def code(self, code: str) -> CodeScore:
        return self.by_code.setdefault(code, CodeScore())

    def as_dict(self) -> dict[str, dict[str, float | int | None]]:
        return {
            code: {
                "tp": s.true_positives,
                "fp": s.false_positives,
                "fn": s.false_negatives,
                "precision": s.precision,
                "recall": s.recall,
            }  # fmt: skip
            for code, s in sorted(self.by_code.items())
        }


def clock_hours(clock_from: int, clock_to: int, widen: int = 0) -> set[int]:
    """The hours a clockwise range covers (10-2: 10, 11, 12, 1, 2), widened by ``widen`` on each side."""
    span = (clock_to - clock_from) % 12
    return {((clock_from - 1 - widen + i) % 12) + 1 for i in range(span + 1 + 2 * widen)}


def matches(found: Located, truth: Located) -> bool:
    if found.code != truth.code:
        return False
    near = (
        found.chainage_start_m <= truth.end + CHAINAGE_TOLERANCE_M
        and truth.chainage_start_m <= found.end + CHAINAGE_TOLERANCE_M
    )
    clocks = clock_hours(found.clock_from, found.clock_to) & clock_hours(
        truth.clock_from, truth.clock_to, CLOCK_TOLERANCE_H
    )
    return near and bool(clocks)


def score(found: Iterable[Located], truth: Iterable[Located]) -> Score:
    result = Score()
    unmatched = list(truth)
    for observation in sorted(found, key=lambda o: o.chainage_start_m):
        candidates = [t for t in unmatched if matches(observation, t)]
        if candidates:
            best = min(candidates, key=lambda t: abs(t.chainage_start_m - observation.chainage_start_m))
            unmatched.remove(best)
            result.code(observation.code).true_positives += 1
        else:
            result.code(observation.code).false_positives += 1
    for missed in unmatched:
        result.code(missed.code).false_negatives += 1
    return result
