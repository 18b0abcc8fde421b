"""Pipe observations found by the vision worker (docs/vision.md), and their review by a person.

Readable by the roles every family providing the pipe inspection lets read (``capability_readers``: pipe
maps are sensitive infrastructure: admin, operator, sanitation); reviewed by sanitation and operator (and
admin). A review is recorded with who and when;
rejected and recoded observations are kept and counted: they are the vision's production precision.
Each says what it stands as (``trust``): confirmed by a person, rejected, or automatic and either trusted (its
code's precision on real footage at or above the bar) or suggested (below it, or not measured: to review; it
raises no grade-4 alert until confirmed), with the precision and where it was measured (docs/vision.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field, model_validator

from core.en13508 import MAIN_CODES
from services.api.deps import ConnDep, PrincipalDep
from services.api.schemas import ErrorMessage, Text, invalid
from services.vision import review as vision_review
from services.vision.review import Standing
from services.vision.shortlist import DEFAULT_SHARE, DEFAULT_SPACING_M, mission_shortlist

router = APIRouter(tags=["inspections"])
ObservationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Observation id.")]
# any main code of the standard: the vision finds 8 of them, a contractor's file codes the others (issue 23), and a
# reviewer may recode to any (a "crack" that is surface damage, BAF)
if TYPE_CHECKING:
    Code = str
else:  # a Literal of the table's keys: validated, and listed as an enum in the OpenAPI document
    Code = Literal[tuple(MAIN_CODES)]
COLUMNS = (
    "id, mission_id, code, characterisation, chainage_start_m, chainage_end_m, clock_from, clock_to, "
    "quantification, grade, confidence, frames, best_frame_time, best_frame_sha256, remark, model, state, "
    "reviewed_by, reviewed_at, review_note, recoded_code, recoded_grade, recoded_clock_from, recoded_clock_to, "
    "annotated_sha256, provisional, trust AS found_trust, trust_precision, trust_basis, source, created_at, updated_at"
)


class TrustBasis(BaseModel):
    bar: float = Field(description="The precision a code needed to be trusted (TLAB_VISION_TRUST_BAR).")
    min_reports: int = Field(description="The reports (tp + fp) a precision needed to count as measured.")
    analysis: str | None = Field(None, description="The analysis measured; none: this code was not measured.")
    manifest_sha256: str | None = Field(None, description="The labelled real set's manifest (SHA-256).")
    split: str | None = Field(None, description="Its split the precision is from (holdout: nothing tuned on it).")
    date: str | None = Field(None, description="When the benchmark ran.")
    frames: int | None = Field(None, description="Real frames in that split.")
    tp: int | None = Field(None, description="Frames where the code was found and is there.")
    fp: int | None = Field(None, description="Frames where the code was found and is not there.")
    results: str | None = Field(None, description="The benchmark's figures.")
    see: str | None = Field(None, description="Where the figures are discussed.")


class Observation(BaseModel):
    id: int
    mission_id: str
    code: str = Field(description="EN 13508-2 main code, as the vision found it (or the contractor coded it).")
    characterisation: str
    chainage_start_m: float
    chainage_end_m: float | None = Field(description="None for a point observation.")
    clock_from: int | None = Field(description="None only for an imported observation the file gave no clock.")
    clock_to: int | None
    quantification: float | None
    grade: int | None = Field(
        description="1-5 (services/vision/grades.py); None only for an imported observation whose code the grade "
        "table does not grade."
    )
    confidence: float | None = Field(description="The vision's; None for an imported observation (a person's).")
    frames: int = Field(description="Frames it was seen in (0 for an imported observation).")
    source: Literal["vision", "import"] = Field(
        description="vision: found in the drone's frames; import: read from a contractor's EN 13508-2 file."
    )
    best_frame_time: datetime | None
    media_url: str | None = Field(description="The frame it was seen best in, as the drone sent it.")
    annotated_url: str | None = Field(description="A copy of that frame with the region outlined and the code.")
    remark: str
    model: str = Field(description="The vision model that found it.")
    state: Literal["automatic", "confirmed", "rejected", "recoded", "withdrawn"]
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    recoded_code: str | None
    recoded_grade: int | None
    recoded_clock_from: int | None
    recoded_clock_to: int | None
    provisional: bool = Field(
        description="The drone is still over it: the next frames may extend it, change its grade or its code. "
        "Its pipe_defect event (the alert) waits until it is settled (the drone past it, or the mission over)."
    )
    trust: Standing = Field(
        description="confirmed (a person confirmed or recoded it), rejected, withdrawn (a later analysis), or "
        "automatic: trusted (its code's precision on real footage at or above the bar) or suggested (below it, "
        "or not measured: to review; no grade-4 alert until a person confirms it)."
    )
    trust_precision: float | None = Field(
        description="Its code's precision measured on real footage for the analysis that found it (none: not measured)."
    )
    trust_basis: TrustBasis | None = Field(description="The bar and where the precision was measured.")
    created_at: datetime
    updated_at: datetime


def _observation(row: dict) -> Observation:
    sha, drawn = row.pop("best_frame_sha256"), row.pop("annotated_sha256")
    found = row.pop("found_trust")
    return Observation(
        **row, media_url=f"/v1/media/{sha}" if sha else None, annotated_url=f"/v1/media/{drawn}" if drawn else None,
        trust=vision_review.standing(row["state"], found),
    )  # fmt: skip


def _require_mission(conn: ConnDep, mission_id: str) -> None:
    if conn.execute("SELECT 1 FROM missions WHERE mission_id = %s", (mission_id,)).fetchone() is None:
        raise HTTPException(404, f"mission {mission_id!r} not found")


@router.get(
    "/missions/{mission_id}/observations",
    summary="A mission's observations along the pipe, by chainage",
    responses={404: {"model": ErrorMessage, "description": "No such mission"}},
)
def list_observations(
    conn: ConnDep,
    mission_id: str,
    code: Annotated[list[Code] | None, Query(max_length=8)] = None,
    min_grade: Annotated[int | None, Query(ge=1, le=5)] = None,
    state: Annotated[Literal["automatic", "confirmed", "rejected", "recoded", "withdrawn"] | None, Query()] = None,
    trust: Annotated[
        Standing | None, Query(description="suggested: the automatic observations waiting for a person's review.")
    ] = None,
) -> list[Observation]:
    _require_mission(conn, mission_id)
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM observations WHERE mission_id = %(mission)s "
        "AND (%(codes)s::text[] IS NULL OR coalesce(recoded_code, code) = ANY(%(codes)s)) "
        "AND (%(grade)s::int IS NULL OR coalesce(recoded_grade, grade) >= %(grade)s) "
        "AND (%(state)s::text IS NULL OR state = %(state)s) "
        f"AND (%(trust)s::text IS NULL OR {vision_review.STANDING_SQL} = %(trust)s) "
        "AND (coalesce(%(state)s, %(trust)s)::text IS NOT NULL OR state <> 'withdrawn') "
        "ORDER BY chainage_start_m, id LIMIT 10000",
        {"mission": mission_id, "codes": code, "grade": min_grade, "state": state, "trust": trust},
    ).fetchall()
    return [_observation(r) for r in rows]


class ShortlistFrame(BaseModel):
    time: datetime
    chainage_m: float
    score: float = Field(description="Sum of confidence x grade of its defect detections (water level and loss "
                         "of vision left out).")  # fmt: skip
    codes: list[str] = Field(description="The codes the analysis found in it.")
    media_url: str = Field(description="The frame, as the drone sent it.")


class Shortlist(BaseModel):
    mission_id: str
    model: str | None = Field(description="The analysis ranked (the one that analysed the mission last); none: "
                              "no frame analysed yet.")  # fmt: skip
    frames: int = Field(description="Frames that analysis has analysed.")
    scored: int = Field(description="Of which judged and scored.")
    not_judged: dict[str, int] = Field(
        description="Frames the vision could not judge, by reason: no defect is looked for in them, so a person "
        "should look at them too."
    )
    share: float
    spacing_m: float
    shortlist: list[ShortlistFrame] = Field(
        description="One frame per place (frames within `spacing_m` of each other that see a common code), best "
        "first, at most `share` of the frames, none scoring 0. How well this ranking finds real defects is "
        "measured in docs/benchmarks.md."
    )


@router.get(
    "/missions/{mission_id}/shortlist",
    summary="A mission's frames to review first, ranked by how likely they show a defect",
    responses={404: {"model": ErrorMessage, "description": "No such mission"}},
)
def get_shortlist(
    conn: ConnDep,
    mission_id: str,
    share: Annotated[float, Query(gt=0, le=0.5, description="The share of the frames to list.")] = DEFAULT_SHARE,
    spacing_m: Annotated[
        float, Query(ge=0, le=20, description="Frames this close that see a common code are one place.")
    ] = DEFAULT_SPACING_M,
) -> Shortlist:
    _require_mission(conn, mission_id)
    found = mission_shortlist(conn, mission_id, share, spacing_m)
    frames = [
        ShortlistFrame(time=f.time, chainage_m=f.chainage_m, score=f.score, codes=list(f.codes),
                       media_url=f"/v1/media/{f.media_sha256}")
        for f in found.ranked
    ]  # fmt: skip
    return Shortlist(
        mission_id=mission_id, model=found.model, frames=found.frames, scored=found.scored,
        not_judged=found.not_judged, share=share, spacing_m=spacing_m, shortlist=frames,
    )  # fmt: skip


def _get(conn: ConnDep, observation_id: int) -> dict:
    row = conn.execute(f"SELECT {COLUMNS} FROM observations WHERE id = %s", (observation_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"observation {observation_id} not found")
    return row


@router.get("/observations/{observation_id}", summary="One observation")
def get_observation(conn: ConnDep, observation_id: ObservationId) -> Observation:
    return _observation(_get(conn, observation_id))


class Review(BaseModel):
    model_config = {"extra": "forbid"}
    decision: Literal["confirm", "reject", "recode"]
    note: Text | None = Field(None, max_length=2000)
    code: Code | None = Field(None, description="recode: the right code.")
    grade: int | None = Field(None, ge=1, le=5, description="recode: the right grade.")
    clock_from: int | None = Field(None, ge=1, le=12)
    clock_to: int | None = Field(None, ge=1, le=12)

    @model_validator(mode="after")
    def _recode_says_what(self) -> Review:
        changes = (self.code, self.grade, self.clock_from, self.clock_to)
        if self.decision == "recode" and all(c is None for c in changes):
            raise ValueError("a recode gives at least one of code, grade, clock_from, clock_to")
        if self.decision != "recode" and any(c is not None for c in changes):
            raise ValueError(f"{self.decision} takes no code, grade or clock (use recode)")
        if (self.clock_from is None) != (self.clock_to is None):
            raise ValueError("clock_from and clock_to go together")
        return self


@router.post(
    "/observations/{observation_id}/review",
    summary="Confirm, reject or recode an observation (who and when are recorded)",
    responses={409: {"model": ErrorMessage, "description": "A withdrawn observation cannot be reviewed"}},
)
def review_observation(
    conn: ConnDep, principal: PrincipalDep, observation_id: ObservationId, review: Review
) -> Observation:
    decision = vision_review.Review(**review.model_dump())
    try:
        found = vision_review.review(conn, observation_id, principal.name, decision)
    except vision_review.NotReviewable as exc:
        raise HTTPException(409, str(exc)) from exc
    except vision_review.GradeLeftBehind as exc:
        raise invalid("body", "code", str(exc), review.code, french=exc.french) from exc
    if not found:
        raise HTTPException(404, f"observation {observation_id} not found")
    return _observation(_get(conn, observation_id))
