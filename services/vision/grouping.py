"""From per-frame detections to observations, as EN 13508-2 codes them (docs/vision.md).

A pure function of the set of analysed frames, like the alerts' episode engine: frames are taken in
chainage order whatever order they arrived in, a frame analysed twice counts once, and a missing frame or
two do not split a defect (detections of one code at overlapping clock positions less than ``GAP_M``
apart are the same defect; one seen in fewer than ``MIN_FRAMES`` frames is noise). A defect seen over at
least ``CONTINUOUS_M`` is a continuous observation with
a start and an end; a shorter one is a point observation at the chainage where it was seen best. The
water level is a continuous measurement: a new BDD observation starts where the level moves by more
than ``WATER_STEP_PCT`` from the current one.

An observation is *settled* once nothing the drone can still send may change it: a later frame is more
than the gap past its last sighting (its group is closed), or the mission is over (``ended``). Until then
it is provisional: the next frame may extend it, recode it (an obstacle seen over 2 m is attached
deposits) or change its letter (a crack's tie between two letters reads as complex). Its domain event, so
what staff are alerted about, waits for it to settle (issue 19, item 16: a critical alert fired on a tie
and was retracted 2-3 s later).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from services.vision.detections import Detection
from services.vision.scoring import clock_hours

NEAR_RING_MEAN_M = 1.0  # a frame's detections are this far ahead of its chainage (docs/vision.md)
GAP_M = 1.2  # frames every ~0.5 m: two missing frames still join
MIN_FRAMES = 2  # the near ring is 1 m deep: at the drone's 0.5 m between frames every defect is in two
CONTINUOUS_M = 1.0  # EN 13508-2: a defect over more than a metre is coded as continuous (start / finish)
WATER_STEP_PCT = 10.0


@dataclass(frozen=True)
class FrameResult:
    """One analysed frame: where it was taken, its identity (a frame analysed twice is one), what it showed."""

    frame_id: str
    chainage_m: float
    detections: tuple[Detection, ...]


@dataclass(frozen=True)
class Observation:
    code: str
    chainage_start_m: float
    chainage_end_m: float | None  # None: a point observation
    clock_from: int
    clock_to: int
    quantification: float | None
    confidence: float
    characterisation: str
    best_frame_id: str
    frames: int
    outline: tuple[tuple[int, int], ...] = ()  # the region in the best frame
    remark: str = ""  # what the detector said of its best frame
    settled: bool = False  # no frame still to come can change it (the drone is past it, or the mission ended)


@dataclass
class _Group:
    code: str
    members: list[tuple[float, Detection, str]]  # (defect chainage, detection, frame id)

    @property
    def last(self) -> float:
        return self.members[-1][0]

    def hours(self) -> set[int]:
        found: set[int] = set()
        for _, d, _ in self.members:
            found |= clock_hours(d.clock_from, d.clock_to)
        return found


ALWAYS = frozenset({"BDG"})  # a single blind frame is a gap in the inspection: say so
# what stands out from the wall: one thing seen over several frames may read as roots in one, an obstacle
# in the next (its near face), an encrustation in a third; they group as one and the code is the majority's
INTRUSIONS = frozenset({"BBA", "BBB", "BBE"})
PREFERENCE = ("BBE", "BBA", "BBB")
LONG_M = 2.0
# a deformation shows at joints only (every 1-2.5 m): its sightings may be further apart than other codes'
GAP_BY_CODE = {"BAA": 2.6}


def _kind(code: str) -> str:
    return "intrusion" if code in INTRUSIONS else code


def group(
    frames: Iterable[FrameResult],
    min_frames: int = MIN_FRAMES,
    *,
    ended: bool = False,
    inspected_m: float | None = None,
) -> list[Observation]:
    """The observations of a mission's frames; ``ended``: no frame will come (every one is settled).
    ``inspected_m``: the length the mission inspected; nothing is placed past it (a frame's detections are
    placed a metre ahead of it: at the pipe's end that metre is past the downstream manhole)."""
    unique = {f.frame_id: f for f in frames}
    ordered = sorted(unique.values(), key=lambda f: (f.chainage_m, f.frame_id))
    open_groups: list[_Group] = []
    closed: list[_Group] = []
    for frame in ordered:
        at = frame.chainage_m + NEAR_RING_MEAN_M
        for stale in [g for g in open_groups if at - g.last > GAP_BY_CODE.get(g.code, GAP_M)]:
            open_groups.remove(stale)
            closed.append(stale)
        for detection in frame.detections:
            home = next((g for g in open_groups if _joins(g, detection)), None)
            if home is None:
                home = _Group(detection.code, [])
                open_groups.append(home)
            home.members.append((at, detection, frame.frame_id))
    done = [(g, True) for g in closed] + [(g, ended) for g in open_groups]
    kept = [(g, s) for g, s in done if len({m[2] for m in g.members}) >= min_frames or g.code in ALWAYS]
    found = [_observation(g, s) for g, s in kept]
    if inspected_m is not None:
        found = [_within(o, inspected_m) for o in found]
    return sorted(found, key=lambda o: (o.chainage_start_m, o.code))


def _within(obs: Observation, inspected_m: float) -> Observation:
    limit = round(inspected_m, 2)
    end = None if obs.chainage_end_m is None else min(obs.chainage_end_m, limit)
    start = min(obs.chainage_start_m, limit)
    if end is not None and end - start < CONTINUOUS_M:  # what is left of it is no longer continuous
        end = None
    return dataclasses.replace(obs, chainage_start_m=start, chainage_end_m=end)


def _joins(group: _Group, detection: Detection) -> bool:
    if _kind(group.code) != _kind(detection.code):
        return False
    if detection.code == "BDD":
        current = statistics.median(d.quantification or 0.0 for _, d, _ in group.members)
        return abs((detection.quantification or 0.0) - current) <= WATER_STEP_PCT
    if detection.code == "BDG":
        return True
    # against the group's latest sighting, not all it gathered: a wide false one would otherwise swallow
    # its neighbours around the clock
    _, last, _ = group.members[-1]
    return bool(clock_hours(last.clock_from, last.clock_to) & clock_hours(detection.clock_from, detection.clock_to))


def _letter(members: list[tuple[float, Detection, str]], letters: list[tuple[str, int]]) -> str:
    """The most frequent letter. A crack seen in pieces (its ends half in the ring, a longitudinal piece in
    one frame, a circumferential one in the next) ties; a tie is not evidence of a complex crack (grade 4, a
    critical alert), so it goes to the most confident sighting among the tied letters, and between equally
    sure ones to the least severe (complex last). Complex is said when the frames read it most."""
    if not letters:
        return ""
    most = letters[0][1]
    tied = {letter for letter, n in letters if n == most}
    if len(tied) == 1:
        return letters[0][0]
    best = max(
        (d for _, d, _ in members if d.characterisation in tied),
        key=lambda d: (d.confidence, d.characterisation != "C", -ord(d.characterisation[0])),
    )
    return best.characterisation


def _observation(group: _Group, settled: bool) -> Observation:
    if group.code in INTRUSIONS:
        group = _Group(_intrusion_code(group), group.members)
    members = [(c, d, f) for c, d, f in group.members if d.code == group.code] or group.members
    chainages = [c for c, _, _ in group.members]
    start, end = min(chainages), max(chainages)
    best_at, best, best_frame = max(members, key=lambda m: (m[1].confidence, -m[0]))
    continuous = end - start >= CONTINUOUS_M
    hours = group.hours()
    clock_from, clock_to = _clock_span(hours) if hours else (best.clock_from, best.clock_to)
    values = [d.quantification for _, d, _ in members if d.quantification is not None]
    # a level, and what a single frame can only estimate (the cross-section an intrusion takes), are the
    # median of the frames; a crack's length is the longest seen
    quantity = (max(values) if group.code == "BAB" else statistics.median(values)) if values else None
    letters = Counter(d.characterisation for _, d, _ in group.members if d.characterisation).most_common()
    confidence = statistics.fmean(d.confidence for _, d, _ in group.members) * min(1.0, len(group.members) / 2)
    return Observation(
        code=group.code,
        chainage_start_m=round(start if continuous else best_at, 2),
        chainage_end_m=round(end, 2) if continuous else None,
        clock_from=clock_from,
        clock_to=clock_to,
        quantification=round(quantity, 1) if quantity is not None else None,
        confidence=round(confidence, 2),
        characterisation=_letter(group.members, letters),
        best_frame_id=best_frame,
        frames=len(group.members),
        outline=tuple(tuple(p) for p in best.outline),  # type: ignore[misc]
        remark=best.remark,
        settled=settled,
    )


def _intrusion_code(group: _Group) -> str:
    """Roots where most frames saw strands; otherwise what is seen over more than ``LONG_M`` is attached
    deposits along the wall (a frame cannot tell the start of a long crust from an obstacle's face: both
    end in a near face; an obstacle is passed within a metre or two), and the majority reading for the
    rest (a tie is the more serious reading: a person reviews it)."""
    counts = Counter(d.code for _, d, _ in group.members)
    if counts["BBA"] * 2 > len(group.members):
        return "BBA"
    chainages = [c for c, _, _ in group.members]
    if max(chainages) - min(chainages) >= LONG_M:
        return "BBB"
    return max(counts, key=lambda c: (counts[c], -PREFERENCE.index(c)))


def _clock_span(hours: set[int]) -> tuple[int, int]:
    """The smallest clockwise range covering ``hours`` (the largest gap between them is left out)."""
    ordered = sorted(hours)
    if len(ordered) == 12:
        return 12, 11
    gaps = [((ordered[(i + 1) % len(ordered)] - h) % 12, i) for i, h in enumerate(ordered)]
    _, widest = max(gaps)
    return ordered[(widest + 1) % len(ordered)], ordered[widest]
