"""A reviewer's shortlist (issue 21, item 4): a mission's frames ranked by how likely they show a defect.

What a sanitation reviewer needs from an hour of footage is where to look. Every judged frame gets a
**defect score** when it is analysed (``frame_score``, stored with the analysis): the sum over its detections
of confidence x grade, leaving out the stretch's conditions (BDD water level, BDG loss of vision), which are
observations of their own and no place to look. A frame with several or severe findings ranks first; a frame
with none scores 0 and is never shortlisted. ``rank`` takes the best frames, at most ``share`` of the
mission's frames, one per place: frames 0.5 m apart that see the same code show one defect, and a reviewer
wants the next place, not the same place twice.

How well it ranks is measured, not assumed (docs/vision.md, docs/benchmarks.md): on the project's rendered
missions it finds nearly every defect in the top 5 %; on real footage the classical detectors rank barely
better than chance within one camera's frames, and a deployment with a trained model
(``trained.py``) gets its model's confidences in the same sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from core.db import scalar
from services.vision.detections import Detection
from services.vision.grades import grade

CONDITIONS = frozenset({"BDD", "BDG"})  # the stretch's state, not a place: not scored
DEFAULT_SHARE = 0.05
DEFAULT_SPACING_M = 1.0


def frame_score(detections: Iterable[Detection]) -> float:
    """Sum of confidence x grade over the frame's defect detections (0: nothing to look at)."""
    return round(
        sum(
            d.confidence * grade(d.code, d.quantification, d.characterisation)
            for d in detections
            if d.code not in CONDITIONS
        ),
        4,
    )


def frame_codes(detections: Iterable[Detection]) -> tuple[str, ...]:
    """The codes a frame shows a reviewer (what ``mission_shortlist`` reads from the stored detections)."""
    return tuple(sorted({d.code for d in detections if d.code not in CONDITIONS}))


@dataclass(frozen=True)
class ScoredFrame:
    time: datetime
    chainage_m: float
    score: float
    codes: tuple[str, ...]
    media_sha256: str


def rank(
    frames: Sequence[ScoredFrame],
    total: int | None = None,
    share: float = DEFAULT_SHARE,
    spacing_m: float = DEFAULT_SPACING_M,
) -> list[ScoredFrame]:
    """The shortlist: one frame per place, best score first (ties: along the pipe), at most ``share`` of the
    mission's ``total`` frames (default: ``frames`` are all of them; at least one when any frame scored), none
    scoring 0. A place is a run of scored frames along the pipe, each within ``spacing_m`` of the previous one
    and sharing a code with it (a 3 m deposit seen in six frames is one place), shown by its best frame."""
    if not 0 < share <= 1:
        raise ValueError("share is in (0, 1]")
    total = len(frames) if total is None else total
    budget = max(1, int(share * total)) if frames else 0
    places: list[list[ScoredFrame]] = []
    for frame in sorted((f for f in frames if f.score > 0), key=lambda f: (f.chainage_m, f.time)):
        last = places[-1][-1] if places else None
        if last is not None and frame.chainage_m - last.chainage_m <= spacing_m and set(frame.codes) & set(last.codes):
            places[-1].append(frame)
        else:
            places.append([frame])
    best = [min(place, key=lambda f: (-f.score, f.chainage_m, f.time)) for place in places]
    return sorted(best, key=lambda f: (-f.score, f.chainage_m, f.time))[:budget]


@dataclass(frozen=True)
class Shortlist:
    """A mission's frames to look at first (``shortlist.rank``), with what the ranking stands on."""

    model: str | None  # the analysis ranked: the one that analysed the mission's frames last
    frames: int  # frames analysed by that model
    scored: int  # of which judged and scored (the others: not judged, failed, or analysed before scores)
    not_judged: dict[str, int]  # frames not judged, by reason
    ranked: list[ScoredFrame]


SCORED_CAP = 50_000  # a mission's scored frames read to rank (an hour at 2 frames/s is 7,200)


def mission_shortlist(conn: psycopg.Connection[Any], mission_id: str, share: float, spacing_m: float) -> Shortlist:
    model = scalar(
        conn, "SELECT model FROM frame_analyses WHERE mission_id = %s ORDER BY analysed_at DESC LIMIT 1", (mission_id,)
    )
    if model is None:
        return Shortlist(None, 0, 0, {}, [])
    by_reason = conn.execute(
        "SELECT not_judged, count(*) AS n, count(defect_score) AS scored FROM frame_analyses "
        "WHERE mission_id = %s AND model = %s GROUP BY not_judged",
        (mission_id, model),
    ).fetchall()
    frames = sum(r["n"] for r in by_reason)
    not_judged = {r["not_judged"]: r["n"] for r in by_reason if r["not_judged"] is not None}
    rows = conn.execute(
        "SELECT time, chainage_m, defect_score AS score, media_sha256, ARRAY(SELECT DISTINCT d->>'code' "
        "FROM jsonb_array_elements(detections) d WHERE d->>'code' NOT IN ('BDD', 'BDG') ORDER BY 1) AS codes "
        "FROM frame_analyses WHERE mission_id = %s AND model = %s AND defect_score > 0 "
        "ORDER BY defect_score DESC, chainage_m, time LIMIT %s",
        (mission_id, model, SCORED_CAP),
    ).fetchall()
    scored = [
        ScoredFrame(r["time"], r["chainage_m"], float(r["score"]), tuple(r["codes"]), r["media_sha256"]) for r in rows
    ]
    ranked = rank(scored, frames, share, spacing_m)
    return Shortlist(model, frames, sum(r["scored"] for r in by_reason), not_judged, ranked)
