"""A person's review of a pipe observation (docs/vision.md): confirm, reject or recode, with who and when.

Not a worker's job (no image is read, nothing is analysed): one row written and the observation's domain
event synced, in the caller's transaction. The API's review route calls it; its SQL lives here, with the
vision's data, so the handler writes none. Rejected and recoded observations are kept and counted: they are
the vision's production precision.

What an observation stands as for staff (``standing``): a person's word first (confirmed, recoded: confirmed;
rejected), withdrawn by a later analysis, else the vision's own trust in its code (trusted, or suggested: to
review; ``trust.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from core.db import scalar
from services.vision.events import sync_event
from services.vision.grades import carries_grade

Decision = Literal["confirm", "reject", "recode"]
STATES: dict[str, str] = {"confirm": "confirmed", "reject": "rejected", "recode": "recoded"}
Standing = Literal["confirmed", "rejected", "trusted", "suggested", "withdrawn"]
STANDINGS: tuple[Standing, ...] = ("confirmed", "rejected", "trusted", "suggested", "withdrawn")
# the same, in SQL, over an observations row (``state``, ``trust``)
STANDING_SQL = (
    "CASE WHEN state IN ('confirmed', 'recoded') THEN 'confirmed' WHEN state IN ('rejected', 'withdrawn') "
    "THEN state ELSE trust END"
)


def standing(state: str, trust: str) -> Standing:
    """``state`` (automatic, confirmed, recoded, rejected, withdrawn) and the code's ``trust`` (trusted,
    suggested) as one: confirmed, rejected, withdrawn, trusted or suggested."""
    if state in ("confirmed", "recoded"):
        return "confirmed"
    if state == "rejected":
        return "rejected"
    if state == "withdrawn":
        return "withdrawn"
    return "trusted" if trust == "trusted" else "suggested"


class NotReviewable(ValueError):
    """A later analysis withdrew the observation: the current ones are to be reviewed instead."""


class GradeLeftBehind(ValueError):
    """A recode to a code that carries no grade (a connection, a node) of an observation that has one, or with a
    grade: the grade would stay, and count, and alert; it is rejected instead (or recoded to a defect). ``str()``
    in English, ``french`` for the console."""

    def __init__(self, code: str, grade: int) -> None:
        super().__init__(f"{code} carries no grade and this observation would keep grade {grade}: reject it, or "
                         "recode it to a defect's code")  # fmt: skip
        self.french = (f"{code} n'a pas de gravité et cette observation garderait la gravité {grade} : rejetez-la, "
                       "ou recodez-la en défaut")  # fmt: skip


@dataclass(frozen=True)
class Review:
    decision: Decision
    note: str | None = None
    code: str | None = None  # recode: the right code, grade, clock positions (None: unchanged)
    grade: int | None = None
    clock_from: int | None = None
    clock_to: int | None = None


def review(conn: psycopg.Connection[Any], observation_id: int, reviewer: str, decision: Review) -> bool:
    """Record ``decision`` by ``reviewer`` and sync the observation's event; False if there is no such
    observation. Raises NotReviewable for a withdrawn one. Runs in one transaction (the caller's, if any)."""
    with conn.transaction():
        state = scalar(conn, "SELECT state FROM observations WHERE id = %s FOR UPDATE", (observation_id,))
        if state is None:
            return False
        if state == "withdrawn":
            raise NotReviewable("a later analysis withdrew this observation; review the current ones")
        if decision.code is not None and not carries_grade(decision.code):
            graded = decision.grade or scalar(
                conn, "SELECT coalesce(recoded_grade, grade) FROM observations WHERE id = %s", (observation_id,)
            )
            if graded is not None:
                raise GradeLeftBehind(decision.code, graded)
        conn.execute(
            "UPDATE observations SET state = %s, reviewed_by = %s, reviewed_at = now(), review_note = %s, "
            "recoded_code = %s, recoded_grade = %s, recoded_clock_from = %s, recoded_clock_to = %s, "
            "updated_at = now() WHERE id = %s",
            (STATES[decision.decision], reviewer, decision.note, decision.code, decision.grade,
             decision.clock_from, decision.clock_to, observation_id),
        )  # fmt: skip
        sync_event(conn, observation_id)
    return True
