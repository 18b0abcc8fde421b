"""An observation's domain event: a pipe defect of grade 4 or more is raised for the alerts (rule
``pipe-defect-grade-4`` in the drone pack, to sanitation); a person rejecting it, or a later analysis
withdrawing it, withdraws the event (its alert is retracted); a recode re-raises it with the new grade (the
rule decides). Shared by the vision worker and the review route (no worker code here).

A provisional observation (the drone is still over it: ``services/vision/grouping.py``) raises nothing and
changes no event yet: the next frame may change its grade or its code, and staff would be alerted, then
told it was not so (issue 19, item 16). Once settled, or once a person reviewed it, it is synced.

An automatic observation of a code the vision has not earned trust in (``trust.py``: measured on real footage
below the bar, or not measured) is a *suggestion*: it raises nothing, whatever its grade, until a person
confirms or recodes it (issue 21, item 3); should one have an event (its code's trust lost since), the event
is withdrawn. A trusted one is raised as found."""

from __future__ import annotations

from typing import Any

import psycopg

from core.db import scalar
from core.domain_events import raise_event, withdraw_event
from core.french import number
from services.vision.codes import french

EVENT_TYPE = "pipe_defect"
RAISED_FROM_GRADE = 4


def sync_event(conn: psycopg.Connection[Any], observation_id: int) -> None:
    row = conn.execute(
        "SELECT o.id, o.mission_id, coalesce(o.recoded_code, o.code) AS code, "
        "coalesce(o.recoded_grade, o.grade) AS grade, o.state, o.chainage_start_m, "
        "coalesce(o.recoded_clock_from, o.clock_from) AS clock_from, "
        "coalesce(o.recoded_clock_to, o.clock_to) AS clock_to, "
        "o.best_frame_time, o.created_at, o.provisional, o.trust, o.source, "
        "coalesce(m.device_id, f.device_id) AS device_id, "
        "coalesce(d.family, f.family) AS family "
        "FROM observations o LEFT JOIN missions m ON m.mission_id = o.mission_id "
        "LEFT JOIN media f ON f.sha256 = o.best_frame_sha256 "
        "LEFT JOIN devices d ON d.device_id = coalesce(m.device_id, f.device_id) WHERE o.id = %s",
        (observation_id,),
    ).fetchone()
    if row is None or row["source"] == "import":  # a contractor's past survey raises no alert (docs/exchange.md)
        return
    oid, mission, code, grade, state = row["id"], row["mission_id"], row["code"], row["grade"], row["state"]
    chainage, clock_from, clock_to = row["chainage_start_m"], row["clock_from"], row["clock_to"]
    seen_at, created, device, provisional = (
        row["best_frame_time"],
        row["created_at"],
        row["device_id"],
        row["provisional"],
    )
    key = f"observation:{oid}"
    raised = scalar(conn, "SELECT EXISTS (SELECT 1 FROM domain_events WHERE type = %s AND key = %s)", (EVENT_TYPE, key))
    if state in ("rejected", "withdrawn"):
        if raised:
            withdraw_event(conn, type=EVENT_TYPE, key=key)
        return
    if provisional and state == "automatic":
        return
    if state == "automatic" and row["trust"] != "trusted":  # a suggestion: a person's word first
        if raised:
            withdraw_event(conn, type=EVENT_TYPE, key=key)
        return
    if grade < RAISED_FROM_GRADE and not raised:
        return
    raise_event(
        conn,
        type=EVENT_TYPE,
        key=key,
        device_id=device or "unknown",
        family=row["family"] or "unknown",  # the drone's, whichever family flies the pipe (never named here)
        occurred_at=seen_at or created,
        summary=f"{french(code)} de gravité {grade} à {number(chainage, 1)} m, {hours(clock_from, clock_to)} "
        f"(mission {mission})",
        attributes={
            "grade": grade,
            "code": code,
            "mission_id": mission,
            "observation_id": oid,
            "chainage_m": chainage,
            "state": state,
            "trust": "trusted" if state == "automatic" else "confirmed",
        },  # fmt: skip
        raised_by="vision",
    )


def hours(clock_from: int, clock_to: int) -> str:
    """``position horaire 3 h`` or ``positions horaires 1 h à 2 h`` (12 h at the crown, as ITV reports say it:
    a bare ``de 1 h à 2 h`` reads as a time of day)."""
    if clock_from == clock_to:
        return f"position horaire {clock_from} h"
    return f"positions horaires {clock_from} h à {clock_to} h"
