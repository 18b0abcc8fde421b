"""Vision in the database: frames claimed for analysis, analyses written, a mission's observations derived
from them and reconciled with the stored ones (people's reviews stay on what they reviewed).

Claiming takes the frames' rows ``FOR UPDATE SKIP LOCKED`` in the transaction that writes their analyses:
several workers share the frames, a killed one's frames are free again when its transaction dies, and the
analysis key (frame, model) makes a second analysis of a frame impossible.

An observation the drone is still over is stored ``provisional`` (the API shows it; its domain event waits:
``events.py``); it settles when a later frame is more than the grouping gap past it, or when its mission is
over (``MISSION_OVER``): the worker then regroups the mission though no frame comes with its end.

Each observation carries its code's trust for the analysis (``trust.py``: trusted, or suggested for review)
and the precision behind it; a suggested one raises no event until a person confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import scalar
from core.media_store import MediaStore
from device_adapters.capabilities.pipe_inspection.storage import mission_status
from services.vision.annotate import annotate
from services.vision.detections import Detection
from services.vision.events import sync_event
from services.vision.grades import grade
from services.vision.grouping import FrameResult, Observation, group
from services.vision.scoring import CHAINAGE_TOLERANCE_M, clock_hours
from services.vision.shortlist import frame_score
from services.vision.trust import Trust

MISSION_LOCK = 0x766973696F6E  # "vision", with the mission's hash as the second key
# A mission no frame will come for: ended by the drone (completed, aborted, failed), interrupted (the drone
# is offline, its last will, or has started another mission: as the missions API derives it), or silent
# for QUIET (no frame analysed: a drone whose link died without a last will, frames with no mission row);
# and every frame stored for it analysed (an end processed before the last frames must not settle early).
QUIET = timedelta(minutes=10)
MISSION_OVER = (
    f"(EXISTS (SELECT 1 FROM missions m WHERE m.mission_id = %(mission)s AND ({mission_status('m')}) <> 'running') "
    "OR (SELECT max(a.analysed_at) FROM frame_analyses a WHERE a.mission_id = %(mission)s AND a.model = %(model)s) "
    "< now() - %(quiet)s) "
    "AND NOT EXISTS (SELECT 1 FROM drone_frames f WHERE f.mission_id = %(mission)s AND NOT EXISTS "
    "(SELECT 1 FROM frame_analyses a WHERE a.device_id = f.device_id AND a.time = f.time AND a.model = %(model)s))"
)


@dataclass(frozen=True)
class ClaimedFrame:
    device_id: str
    time: datetime
    mission_id: str
    chainage_m: float
    media_sha256: str
    diameter_mm: int | None


def claim_frames(conn: psycopg.Connection[Any], model: str, since: datetime, limit: int) -> list[ClaimedFrame]:
    """Frames of the last ``since`` not yet analysed by ``model``, locked for the caller's transaction."""
    rows = conn.execute(
        "SELECT f.device_id, f.time, f.mission_id, f.chainage_m, f.media_sha256, m.diameter_mm FROM drone_frames f "
        "LEFT JOIN missions m ON m.mission_id = f.mission_id WHERE f.time >= %s AND NOT EXISTS "
        "(SELECT 1 FROM frame_analyses a WHERE a.device_id = f.device_id AND a.time = f.time AND a.model = %s) "
        "ORDER BY f.time LIMIT %s FOR UPDATE OF f SKIP LOCKED",
        (since, model, limit),
    ).fetchall()
    return [ClaimedFrame(**r) for r in rows]


def write_analysis(
    conn: psycopg.Connection[Any],
    frame: ClaimedFrame,
    model: str,
    detections: Sequence[Detection],
    error: str | None,
    not_judged: str | None = None,
) -> None:
    """The frame's analysis, once per model: its detections and its defect score (``shortlist.frame_score``), or
    why it could not be analysed (``error``) or judged (``not_judged``: the gate's reason,
    services/vision/quality.py), and then no score."""
    score = None if error is not None or not_judged is not None else frame_score(detections)
    conn.execute(
        "INSERT INTO frame_analyses (device_id, time, model, mission_id, chainage_m, media_sha256, detections, error,"
        " not_judged, defect_score) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (frame.device_id, frame.time, model, frame.mission_id, frame.chainage_m, frame.media_sha256,
         Jsonb([asdict(d) for d in detections]), error, not_judged, score),
    )  # fmt: skip


def regroup(
    conn: psycopg.Connection[Any], mission_id: str, model: str, media: MediaStore | None = None, *, trust: Trust
) -> dict[str, int]:
    """Recompute the mission's observations from its frames' analyses and reconcile them, in the caller's
    transaction, under the mission's advisory lock; each with its code's standing in ``trust`` (the
    analysis ``model``'s). Returns counts of what changed."""
    conn.execute("SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))", (MISSION_LOCK % 2**31, mission_id))
    rows = conn.execute(
        "SELECT device_id, time, chainage_m, media_sha256, detections FROM frame_analyses "
        "WHERE mission_id = %s AND model = %s AND error IS NULL",
        (mission_id, model),
    ).fetchall()
    frames, shots = [], {}
    for r in rows:
        frame_id = f"{r['device_id']}@{r['time'].isoformat()}"
        shots[frame_id] = (r["time"], r["media_sha256"])
        found = tuple(
            Detection(**{**d, "outline": tuple(tuple(p) for p in d.get("outline", ()))}) for d in r["detections"]
        )
        frames.append(FrameResult(frame_id, r["chainage_m"], found))
    ended = bool(scalar(conn, f"SELECT {MISSION_OVER}", {"mission": mission_id, "model": model, "quiet": QUIET}))
    # once the mission is over, nothing is placed past what it inspected (the drone's furthest chainage)
    inspected = (
        scalar(
            conn,
            "SELECT greatest(m.distance_m,"
            " (SELECT max(t.chainage_m) FROM drone_telemetry t WHERE t.mission_id = %(m)s),"
            " (SELECT max(f.chainage_m) FROM drone_frames f WHERE f.mission_id = %(m)s)) "
            "FROM missions m WHERE m.mission_id = %(m)s",
            {"m": mission_id},
        )
        if ended
        else None
    )
    computed = group(frames, ended=ended, inspected_m=inspected)
    stored = conn.execute(
        "SELECT id, code, chainage_start_m, chainage_end_m, clock_from, clock_to, state FROM observations "
        "WHERE mission_id = %s AND state <> 'withdrawn' ORDER BY id",
        (mission_id,),
    ).fetchall()
    pool = [
        {"id": r["id"], "code": r["code"], "start": r["chainage_start_m"], "end": r["chainage_end_m"],
         "clock_from": r["clock_from"], "clock_to": r["clock_to"], "state": r["state"]}
        for r in stored
    ]  # fmt: skip
    counts = {"inserted": 0, "updated": 0, "withdrawn": 0}
    kept: set[int] = set()
    for obs in computed:
        match = next((s for s in pool if s["id"] not in kept and _same(s, obs)), None)
        time, sha = shots[obs.best_frame_id]
        remark, confidence = _cross_check(conn, mission_id, obs)
        standing = trust.of(obs.code)
        fields = {
            "remark": remark,
            "code": obs.code, "characterisation": obs.characterisation, "start": obs.chainage_start_m,
            "end": obs.chainage_end_m, "clock_from": obs.clock_from, "clock_to": obs.clock_to,
            "quantification": obs.quantification, "grade": grade(obs.code, obs.quantification, obs.characterisation),
            "confidence": confidence, "frames": obs.frames, "best_time": time, "best_sha": sha, "model": model,
            "mission": mission_id, "provisional": not obs.settled, "trust": standing.trust,
            "trust_precision": standing.precision, "trust_basis": Jsonb(standing.basis),
        }  # fmt: skip
        if match is None:
            inserted = scalar(
                conn,
                "INSERT INTO observations (mission_id, code, characterisation, chainage_start_m, chainage_end_m, "
                "clock_from, clock_to, quantification, grade, confidence, frames, best_frame_time, best_frame_sha256, "
                "model, remark, provisional, trust, trust_precision, trust_basis) VALUES (%(mission)s, %(code)s, "
                "%(characterisation)s, %(start)s, %(end)s, %(clock_from)s, %(clock_to)s, %(quantification)s, "
                "%(grade)s, %(confidence)s, %(frames)s, %(best_time)s, %(best_sha)s, %(model)s, %(remark)s, "
                "%(provisional)s, %(trust)s, %(trust_precision)s, %(trust_basis)s) RETURNING id",
                fields,
            )
            kept.add(inserted)
            counts["inserted"] += 1
            _annotate(conn, media, inserted, obs, sha)
            sync_event(conn, inserted)
            continue
        kept.add(match["id"])
        cur = conn.execute(
            "UPDATE observations SET characterisation = %(characterisation)s, chainage_start_m = %(start)s, "
            "chainage_end_m = %(end)s, clock_from = %(clock_from)s, clock_to = %(clock_to)s, "
            "quantification = %(quantification)s, grade = %(grade)s, confidence = %(confidence)s, frames = %(frames)s, "
            "best_frame_time = %(best_time)s, best_frame_sha256 = %(best_sha)s, model = %(model)s, "
            "remark = %(remark)s, provisional = %(provisional)s, trust = %(trust)s, "
            "trust_precision = %(trust_precision)s, trust_basis = %(trust_basis)s, updated_at = now() "
            "WHERE id = %(id)s AND (chainage_start_m, chainage_end_m, clock_from, clock_to, quantification, grade, "
            "frames, characterisation, remark, provisional, trust, trust_precision, trust_basis) IS DISTINCT FROM "
            "(%(start)s, %(end)s, %(clock_from)s, %(clock_to)s, %(quantification)s, %(grade)s, %(frames)s, "
            "%(characterisation)s, %(remark)s, %(provisional)s, %(trust)s, %(trust_precision)s, "
            "%(trust_basis)s::jsonb)",
            {**fields, "id": match["id"]},
        )
        if cur.rowcount:
            counts["updated"] += 1
            _annotate(conn, media, match["id"], obs, sha)
            sync_event(conn, match["id"])
    for s in pool:
        if s["id"] not in kept and s["state"] == "automatic":  # what a person reviewed stays as reviewed
            conn.execute("UPDATE observations SET state = 'withdrawn', updated_at = now() WHERE id = %s", (s["id"],))
            counts["withdrawn"] += 1
            sync_event(conn, s["id"])
    if ended:  # a reviewed one no analysis matches any more is as settled as the rest: never looked for again
        conn.execute("UPDATE observations SET provisional = false WHERE mission_id = %s AND provisional", (mission_id,))
    return counts


WATER_DISAGREEMENT_PCT = 10.0  # points between the vision's level and the drone's own sensor


def missions_to_settle(conn: psycopg.Connection[Any], model: str, limit: int = 16) -> list[str]:
    """Missions that still have provisional observations though no frame will come for them (over)."""
    candidates = conn.execute(
        "SELECT DISTINCT mission_id FROM observations WHERE provisional AND state <> 'withdrawn' AND model = %s",
        (model,),
    ).fetchall()
    over = []
    for r in candidates:
        mission = r["mission_id"]
        if scalar(conn, f"SELECT {MISSION_OVER}", {"mission": mission, "model": model, "quiet": QUIET}):
            over.append(mission)
        if len(over) >= limit:
            break
    return sorted(over)


def _cross_check(conn: psycopg.Connection[Any], mission_id: str, obs: Observation) -> tuple[str, float]:
    """A water level seen is checked against the drone's own ``water_level_pct`` over the same stretch:
    the remark says both, and a disagreement of more than 10 points halves the confidence (a reviewer
    sees which to trust). Other codes: the detector's remark, confidence as found."""
    if obs.code != "BDD" or obs.quantification is None:
        return obs.remark, obs.confidence
    end = obs.chainage_end_m if obs.chainage_end_m is not None else obs.chainage_start_m
    sensed = scalar(
        conn,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY water_level_pct) FROM drone_telemetry "
        "WHERE mission_id = %s AND chainage_m BETWEEN %s AND %s AND water_level_pct IS NOT NULL",
        (mission_id, obs.chainage_start_m - 1.0, end - 1.0),  # the frames' chainages: 1 m behind what they see
    )
    if sensed is None:
        return "no water-level telemetry over this stretch", obs.confidence
    if abs(sensed - obs.quantification) > WATER_DISAGREEMENT_PCT:
        return f"the drone's sensor says {sensed:.0f} %: they disagree", round(obs.confidence / 2, 2)
    return f"the drone's sensor says {sensed:.0f} %", obs.confidence


def _annotate(
    conn: psycopg.Connection[Any],
    media: MediaStore | None,
    observation_id: int,
    obs: Observation,
    sha: str,
) -> None:
    """Draw the observation's region on a copy of its best frame and keep it as a medium of the drone that
    sent the frame: its family and device from the frame's own media row (whichever family flew the mission),
    so the copy is read by the roles that read the frame, and is as personal as the frame."""
    path = media.open(sha) if media is not None else None
    if media is None or path is None:
        return
    clock = f"{obs.clock_from}" if obs.clock_from == obs.clock_to else f"{obs.clock_from}-{obs.clock_to}"
    label = (
        f"{obs.code} {obs.characterisation} {clock}h grade {grade(obs.code, obs.quantification, obs.characterisation)}"
    )
    drawn = annotate(path.read_bytes(), obs.outline, " ".join(label.split()))
    if drawn is None:
        return
    data, digest, width, height = drawn
    media.put(digest, data)  # the file first: a crash before COMMIT leaves a file, never a row without one
    conn.execute(
        "INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id, personal, "
        "copy_pending) SELECT %s, 'image/jpeg', %s, %s, %s, family, device_id, personal, personal FROM media "
        "WHERE sha256 = %s ON CONFLICT (sha256) DO NOTHING",
        (digest, len(data), width, height, sha),
    )
    conn.execute("UPDATE observations SET annotated_sha256 = %s WHERE id = %s", (digest, observation_id))


def _same(stored: dict[str, Any], obs: Observation) -> bool:
    """The stored observation stands for the computed one: same code, chainages within the scorer's
    tolerance, clock ranges an hour apart at most (frames arriving late move a defect's ends a little)."""
    if stored["code"] != obs.code:
        return False
    stored_end = stored["end"] if stored["end"] is not None else stored["start"]
    obs_end = obs.chainage_end_m if obs.chainage_end_m is not None else obs.chainage_start_m
    near = (
        stored["start"] <= obs_end + CHAINAGE_TOLERANCE_M and obs.chainage_start_m <= stored_end + CHAINAGE_TOLERANCE_M
    )
    hours = clock_hours(stored["clock_from"], stored["clock_to"], widen=1)
    return near and bool(hours & clock_hours(obs.clock_from, obs.clock_to))
