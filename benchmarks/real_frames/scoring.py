"""Frame-level figures of the vision on labelled real frames: pure arithmetic (docs/vision-real-frames.md).

A frame's verdict is the set of codes of the observations the vision made of it (sent as a drone sends it),
whether it declared it could not judge the frame (and why), and the worst grade it gave. Per code, over the frames whose
label settles that code: a true positive is the code found where present, a false positive found where
absent, a false negative not found where present (a frame declared not judged finds nothing: its defects are
missed). A false alarm is a defect reported on a frame whose label says it shows none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.real_frames import shortlist
from benchmarks.real_frames.manifest import DEFECTS, SPLITS, SUPPORTED, Frame

SHORTLIST_SHARES = (0.05, 0.10)
PREVALENCE = 0.05  # a mission's frames showing a defect, for the shortlist's figures


@dataclass(frozen=True)
class Verdict:
    codes: frozenset[str]
    not_judged: bool = False
    worst_grade: int = 0  # 0: no observation
    reason: str = ""  # why it was not judged (``FrameAnalysis.not_judged``)
    score: float | None = None  # the frame's defect score (``shortlist.frame_score``); None: not judged


@dataclass
class _ClassRow:
    frames: int = 0
    expected_found: int = 0  # the frame's codes all found (frames whose label names a code)
    any_defect: int = 0
    not_judged: int = 0
    codes: Counter[str] = field(default_factory=Counter)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def score(frames: Iterable[Frame], verdicts: Mapping[str, Verdict]) -> dict[str, Any]:
    """The figures of ``frames`` (every one must have a verdict, keyed by its file)."""
    frames = list(frames)
    per_code = {code: {"tp": 0, "fp": 0, "fn": 0, "frames": 0} for code in SUPPORTED}
    clean = alarms = clean_grade4 = unknown = unknown_reported = not_judged = with_defect = defect_not_judged = 0
    alarm_codes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    by_class: dict[str, _ClassRow] = {}
    for frame in frames:
        verdict = verdicts[frame.file]
        found = verdict.codes
        not_judged += verdict.not_judged
        if verdict.not_judged:
            reasons[verdict.reason or "unsaid"] += 1
        if frame.codes & DEFECTS:  # a gate that refuses the frames showing a defect is no fix: counted apart
            with_defect += 1
            defect_not_judged += verdict.not_judged
        for code in frame.scored:
            row, present, seen = per_code[code], code in frame.codes, code in found
            row["frames"] += 1
            row["tp"] += present and seen
            row["fp"] += seen and not present
            row["fn"] += present and not seen
        reported = (found & DEFECTS) - frame.unsure
        if frame.without_defect:
            clean += 1
            alarms += bool(reported)
            alarm_codes.update(reported)
            clean_grade4 += verdict.worst_grade >= 4
        if frame.defects_unknown:
            unknown += 1
            unknown_reported += bool(found & DEFECTS)
        kind = by_class.setdefault(f"{frame.source.repository}: {frame.source.label}", _ClassRow())
        kind.frames += 1
        kind.expected_found += bool(frame.codes) and frame.codes <= found
        kind.any_defect += bool(found & DEFECTS)
        kind.not_judged += verdict.not_judged
        kind.codes.update(found)
    codes = {
        code: {**row, "precision": _ratio(row["tp"], row["tp"] + row["fp"]),
               "recall": _ratio(row["tp"], row["tp"] + row["fn"])}
        for code, row in per_code.items()
        if row["frames"]
    }  # fmt: skip
    return {
        "frames": len(frames),
        "codes": codes,
        "false_alarms": {
            "frames_without_defect": clean,
            "with_a_defect_reported": alarms,
            "rate": _ratio(alarms, clean),
            "by_code": dict(sorted(alarm_codes.items())),
            "with_grade_4_or_more": clean_grade4,
        },
        "not_judged": {
            "frames": not_judged,
            "share": _ratio(not_judged, len(frames)),
            "by_reason": dict(sorted(reasons.items())),
            "defect_frames": defect_not_judged,
            "of_defect_frames": with_defect,
            "defect_share": _ratio(defect_not_judged, with_defect),
        },
        "defects_unknown": {
            "frames": unknown,
            "with_a_defect_reported": unknown_reported,
            "share": _ratio(unknown_reported, unknown),
        },  # fmt: skip
        "by_class": {
            name: {**asdict(kind), "codes": dict(sorted(kind.codes.items()))} for name, kind in sorted(by_class.items())
        },  # fmt: skip
        "shortlist": shortlist_figures(frames, verdicts),
    }


def shortlist_figures(frames: list[Frame], verdicts: Mapping[str, Verdict]) -> dict[str, Any]:
    """How the frames' defect scores rank frames with a labelled defect above the others
    (``real_frames.shortlist``): against frames without a supported defect, and, pessimistically, against
    frames whose defects are unknown (connections, joints: some hold a defect nobody labelled)."""

    def scores(kept: Iterable[Frame]) -> list[float]:
        return [s if (s := verdicts[f.file].score) is not None else shortlist.NEVER for f in kept]

    defect = [f for f in frames if f.codes & DEFECTS]
    groups = {"without_defect": [f for f in frames if f.without_defect],
              "defects_unknown": [f for f in frames if f.defects_unknown]}  # fmt: skip
    within = {}
    for source in sorted({f.source.repository for f in frames}):
        mine, theirs = ([f for f in g if f.source.repository == source] for g in (defect, groups["without_defect"]))
        if mine and theirs:
            within[source] = {"defect_frames": len(mine), "frames_without_defect": len(theirs),
                              "auc": shortlist.auc(scores(mine), scores(theirs))}  # fmt: skip
    return {
        "prevalence": PREVALENCE,
        "defect_frames": len(defect),
        **{f"frames_{name}": len(g) for name, g in groups.items()},
        "auc": {name: shortlist.auc(scores(defect), scores(g)) for name, g in groups.items()},
        "auc_within_a_source": within,
        "recall": {
            f"{share:.2f}": {
                name: shortlist.recall_at(scores(defect), scores(g), share, PREVALENCE) for name, g in groups.items()
            }
            for share in SHORTLIST_SHARES
        },  # fmt: skip
    }


def score_splits(frames: Iterable[Frame], verdicts: Mapping[str, Verdict]) -> dict[str, dict[str, Any]]:
    """The figures per split, and over the whole set."""
    frames = list(frames)
    out = {split: score([f for f in frames if f.split == split], verdicts) for split in SPLITS}
    out["all"] = score(frames, verdicts)
    return out
