"""Two inspections of one pipe, compared (issue 23, item 4): the drone against a contractor's CCTV survey, or
this year against last.

Observations are matched when they have the same main code, lie within ``tolerance_m`` of each other along the
pipe (their start, or for a continuous defect any overlap of their extents) and their clock positions meet
(ranges touching within ``clock_slack`` hours; an observation without a clock position meets any). Each
observation is matched at most once, closest first. An inspection run the other way along the pipe (upstream
against downstream) measures from the other manhole and sees the wall mirrored: its distances are turned into
``length - distance`` and its clock positions mirrored (3 h <-> 9 h) before matching, when both directions and
the pipe's length are known.

Rejected and withdrawn observations take no part: what a reviewer threw out was not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.vision.codes import FOUND

VISION_CODES = frozenset(FOUND)  # the codes the drone's vision looks for

DEFAULT_TOLERANCE_M = 0.5
DEFAULT_CLOCK_SLACK = 1


@dataclass(frozen=True)
class Seen:
    id: int
    code: str
    start_m: float
    finish_m: float | None
    clock_from: int | None
    clock_to: int | None
    grade: int | None

    def flipped(self, length_m: float) -> Seen:
        """As seen from the other manhole: distances from the other end, the wall mirrored."""
        finish = None if self.finish_m is None else round(length_m - self.start_m, 3)
        start = round(length_m - (self.finish_m if self.finish_m is not None else self.start_m), 3)
        # a range read clockwise from `from` to `to` reads clockwise from mirror(to) to mirror(from)
        return Seen(self.id, self.code, start, finish, _mirror(self.clock_to), _mirror(self.clock_from), self.grade)


def _mirror(hour: int | None) -> int | None:
    if hour is None:
        return None
    mirrored = (12 - hour) % 12
    return mirrored or 12


def _hours(clock_from: int | None, clock_to: int | None) -> set[int] | None:
    """The clock hours a range covers, read clockwise (10 to 2: 10, 11, 12, 1, 2); None without a position."""
    if clock_from is None:
        return None
    end = clock_to if clock_to is not None else clock_from
    hours, h = {clock_from}, clock_from
    while h != end and len(hours) < 12:
        h = h % 12 + 1
        hours.add(h)
    return hours


def _clock_meets(a: Seen, b: Seen, slack: int) -> bool:
    ha, hb = _hours(a.clock_from, a.clock_to), _hours(b.clock_from, b.clock_to)
    if ha is None or hb is None:
        return True
    widened = {(h - 1 + d) % 12 + 1 for h in ha for d in range(-slack, slack + 1)}
    return bool(widened & hb)


def _gap_m(a: Seen, b: Seen) -> float:
    """How far apart two observations lie along the pipe: 0 when their extents overlap."""
    a_end = a.finish_m if a.finish_m is not None else a.start_m
    b_end = b.finish_m if b.finish_m is not None else b.start_m
    if a.finish_m is None and b.finish_m is None:
        return abs(a.start_m - b.start_m)
    return max(0.0, max(a.start_m, b.start_m) - min(a_end, b_end))


@dataclass(frozen=True)
class Comparison:
    matched: list[tuple[Seen, Seen, float]]  # (in a, in b, distance apart in metres)
    only_a: list[Seen]
    only_b: list[Seen]
    b_flipped: bool

    def as_dict(self, a_name: str = "a", b_name: str = "b") -> dict[str, Any]:
        found_by_a = len(self.matched) / (len(self.matched) + len(self.only_b)) if self.matched or self.only_b else None
        return {
            "matched": [{a_name: vars(x), b_name: vars(y), "apart_m": round(d, 3)} for x, y, d in self.matched],
            f"only_{a_name}": [vars(x) for x in self.only_a],
            f"only_{b_name}": [vars(y) for y in self.only_b],
            "summary": {
                "found_by_both": len(self.matched), f"only_{a_name}": len(self.only_a),
                f"only_{b_name}": len(self.only_b),
                f"share_of_{b_name}_found_by_{a_name}": None if found_by_a is None else round(found_by_a, 3),
            },
            f"{b_name}_turned_to_{a_name}_direction": self.b_flipped,
        }  # fmt: skip


def compare(
    a: list[Seen],
    b: list[Seen],
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    clock_slack: int = DEFAULT_CLOCK_SLACK,
    flip_b_over: float | None = None,
) -> Comparison:
    """Match ``a``'s observations with ``b``'s; ``flip_b_over``: the pipe's length, when ``b`` ran the other way."""
    if flip_b_over is not None:
        b = [o.flipped(flip_b_over) for o in b]
    candidates = sorted(
        (_gap_m(x, y), i, j)
        for i, x in enumerate(a)
        for j, y in enumerate(b)
        if x.code == y.code and _gap_m(x, y) <= tolerance_m and _clock_meets(x, y, clock_slack)
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched = []
    for gap, i, j in candidates:  # closest first, each once
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matched.append((a[i], b[j], gap))
    matched.sort(key=lambda m: m[0].start_m)
    return Comparison(
        matched,
        [x for i, x in enumerate(a) if i not in used_a],
        [y for j, y in enumerate(b) if j not in used_b],
        flip_b_over is not None,
    )


def _mission(conn: Any, mission_id: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = conn.execute(
        "SELECT mission_id, source, pipe_id, start_manhole, end_manhole, direction, started_at, operator, "
        "coalesce(distance_m, (SELECT max(chainage_m) FROM drone_telemetry t WHERE t.mission_id = m.mission_id)) "
        "AS length_m FROM missions m WHERE mission_id = %s",
        (mission_id,),
    ).fetchone()
    return row


def _observations(conn: Any, mission_id: str) -> list[Seen]:
    rows = conn.execute(
        "SELECT id, coalesce(recoded_code, code) AS code, chainage_start_m, chainage_end_m, "
        "coalesce(recoded_clock_from, clock_from) AS clock_from, coalesce(recoded_clock_to, clock_to) AS clock_to, "
        "coalesce(recoded_grade, grade) AS grade FROM observations "
        "WHERE mission_id = %s AND state NOT IN ('rejected', 'withdrawn') ORDER BY chainage_start_m, id",
        (mission_id,),
    ).fetchall()
    return [Seen(r["id"], r["code"], float(r["chainage_start_m"]),
                 None if r["chainage_end_m"] is None else float(r["chainage_end_m"]),
                 r["clock_from"], r["clock_to"], r["grade"]) for r in rows]  # fmt: skip


class DifferentPipes(ValueError):
    """Two inspections not known to be of one pipe: nothing to compare."""


def _one_pipe(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same pipe reference, or, where either has none, the same two nodes (either way round)."""
    if a["pipe_id"] and b["pipe_id"]:
        return bool(a["pipe_id"] == b["pipe_id"])
    nodes_a, nodes_b = {a["start_manhole"], a["end_manhole"]}, {b["start_manhole"], b["end_manhole"]}
    return None not in nodes_a and None not in nodes_b and len(nodes_a) == 2 and nodes_a == nodes_b


def compare_missions(
    conn: Any, mission_id: str, other_id: str, *, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> dict[str, Any] | None:
    """The comparison of two stored inspections of one pipe (None if either is missing; DifferentPipes if they
    are not known to be of one pipe, or are one inspection), ``other`` turned to ``mission``'s direction when
    they ran opposite ways."""
    first, second = _mission(conn, mission_id), _mission(conn, other_id)
    if first is None or second is None:
        return None
    if mission_id == other_id:
        raise DifferentPipes("an inspection compared with itself finds everything: compare two inspections")
    if not _one_pipe(first, second):
        raise DifferentPipes(f"{mission_id} (pipe {first['pipe_id'] or '?'}, {first['start_manhole'] or '?'} to "
                             f"{first['end_manhole'] or '?'}) and {other_id} (pipe {second['pipe_id'] or '?'}, "
                             f"{second['start_manhole'] or '?'} to {second['end_manhole'] or '?'}) are not known to be "
                             "one pipe: a comparison is of two inspections of one pipe (the same AAA, or, without "
                             "one, the same two nodes)")  # fmt: skip
    opposite = {first["direction"], second["direction"]} == {"downstream", "upstream"}
    flip = float(second["length_m"]) if opposite and second["length_m"] else None
    found = compare(_observations(conn, mission_id), _observations(conn, other_id), tolerance_m=tolerance_m,
                    flip_b_over=flip)  # fmt: skip
    same_pipe = True  # _one_pipe said so
    result = {
        "mission": dict(first), "other": dict(second), "same_pipe": same_pipe, "tolerance_m": tolerance_m,
        **found.as_dict("mission", "other"),
    }  # fmt: skip
    # the drone against a contractor: what the contractor coded that the drone's vision does not look for (a
    # connection, a node, infiltration) is no miss of its; the share is also given among the codes it looks for
    if {first["source"], second["source"]} == {"drone", "import"}:
        theirs = "other" if first["source"] == "drone" else "mission"
        outside = [o for o in result[f"only_{theirs}"] if o["code"] not in VISION_CODES]
        among = len(found.matched) + len(result[f"only_{theirs}"]) - len(outside)
        result["summary"] |= {
            "drone_side": "mission" if theirs == "other" else "other",
            "only_contractor_outside_the_drone_codes": len(outside),
            "share_of_contractor_found_by_drone_among_its_codes": round(len(found.matched) / among, 3)
            if among
            else None,
        }
        result["drone_codes"] = sorted(VISION_CODES)
        result["outside_the_drone_codes"] = sorted({o["code"] for o in outside})
    return result
