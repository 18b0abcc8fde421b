"""Dumping incidents (docs/incidents.md): listed and read by the cameras' readers (admin, operator,
cleanliness, police), decided by cleanliness agents (and operator, admin): confirm, dismiss (with a
note), clear, close. Each decision is in the incident's timeline with who and why; an incident's events
are its tracks (the object) and its context (vehicles and persons just before)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from psycopg import sql
from pydantic import BaseModel, Field, model_validator

from services.api.deps import ConnDep, PrincipalDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import ErrorMessage, Limit, Offset, Page, Text, page
from services.incidents.lifecycle import Action, NotAllowed, act

router = APIRouter(tags=["incidents"])
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Incident id.")]
State = Literal["suspected", "confirmed", "dismissed", "cleared", "closed"]
COLUMNS = (
    "id, device_id, label, zone, state, began_at, suspected_at, cleared_at, tracks, context, created_at, updated_at"
)
LIST_KEY = ("began_at", "id")


class Incident(BaseModel):
    id: int
    device_id: str = Field(description="The camera.")
    label: str
    zone: str | None
    state: State
    began_at: datetime = Field(description="When the object appeared.")
    suspected_at: datetime = Field(description="When it had stayed long enough to be suspected.")
    cleared_at: datetime | None = Field(description="When it was gone (its tracks ended, or an agent said so).")
    time_to_clearance_s: float | None = Field(description="From its appearance to its clearance, in seconds.")
    tracks: list[str] = Field(description="Its camera events (a tracker may have split the object).")
    context: list[str] = Field(description="Vehicles' and persons' events in its zone just before it appeared.")
    created_at: datetime
    updated_at: datetime


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    note: str | None


class IncidentEvent(BaseModel):
    event_id: str
    role: Literal["object", "context"]
    label: str
    start_time: datetime
    end_time: datetime | None
    media_urls: list[str]


class IncidentDetail(Incident):
    timeline: list[TimelineEntry]
    events: list[IncidentEvent]


class Decision(BaseModel):
    model_config = {"extra": "forbid"}
    note: Text | None = Field(None, max_length=2000, description="Why (required to dismiss).")


def _incident(row: dict) -> Incident:
    cleared = row["cleared_at"]
    seconds = (cleared - row["began_at"]).total_seconds() if cleared else None
    return Incident(**row, time_to_clearance_s=seconds)


@router.get("/incidents", summary="Incidents, most recent first")
def list_incidents(
    conn: ConnDep,
    state: Annotated[State | None, Query()] = None,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    label: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(description="Began at or after (default: 30 days ago).")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Page[Incident]:
    key = decode_cursor(cursor, (datetime, int), offset)
    keyset, key_params = after(LIST_KEY, key, descending=True)
    query = sql.SQL(
        "SELECT " + COLUMNS + " FROM incidents WHERE began_at >= %(since)s "
        "AND (%(state)s::text IS NULL OR state = %(state)s) AND (%(device)s::text IS NULL OR device_id = %(device)s) "
        "AND (%(label)s::text IS NULL OR label = %(label)s){keyset} "
        "ORDER BY began_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(keyset=keyset)
    start = since or datetime.now().astimezone() - timedelta(days=30)
    params = {"since": start, "state": state, "device": device_id, "label": label, "limit": limit, "offset": offset}
    rows = conn.execute(query, {**params, **key_params}).fetchall()
    return page(
        [_incident(r) for r in rows], limit, offset, next_cursor(rows, limit, LIST_KEY), by_cursor=key is not None
    )


def _detail(conn: ConnDep, incident_id: int) -> IncidentDetail:
    row = conn.execute(f"SELECT {COLUMNS} FROM incidents WHERE id = %s", (incident_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"incident {incident_id} not found")
    timeline = conn.execute(
        "SELECT at, kind, actor, note FROM incident_timeline WHERE incident_id = %s ORDER BY at, id", (incident_id,)
    ).fetchall()
    events = conn.execute(
        "SELECT e.event_id, CASE WHEN e.event_id = ANY(%(tracks)s) THEN 'object' ELSE 'context' END AS role, "
        "e.label, e.start_time, e.end_time, coalesce(array("
        "  SELECT '/v1/media/' || s.media_sha256 FROM ("
        "    SELECT time, media_sha256 FROM camera_snapshots WHERE event_id = e.event_id UNION "
        "    SELECT time, media_sha256 FROM camera_label_snapshots l WHERE l.device_id = e.device_id "
        "    AND l.label = e.label AND l.time >= e.start_time "
        "    AND l.time <= coalesce(e.end_time, now()) + interval '1 minute') s ORDER BY s.time), '{}') AS media_urls "
        "FROM camera_events e WHERE e.event_id = ANY(%(all)s) ORDER BY e.start_time",
        {"tracks": row["tracks"], "all": row["tracks"] + row["context"]},
    ).fetchall()
    return IncidentDetail(
        **_incident(row).model_dump(),
        timeline=[TimelineEntry(**t) for t in timeline],
        events=[IncidentEvent(**e) for e in events],
    )


@router.get(
    "/incidents/{incident_id}",
    summary="One incident with its events, evidence and timeline",
    responses={404: {"model": ErrorMessage, "description": "No such incident"}},
)
def get_incident(conn: ConnDep, incident_id: IncidentId) -> IncidentDetail:
    return _detail(conn, incident_id)


def _decide(
    conn: ConnDep, principal: PrincipalDep, incident_id: int, action: Action, decision: Decision
) -> IncidentDetail:
    with conn.transaction():
        try:
            found = act(conn, incident_id, action, principal.name, decision.note)
        except NotAllowed as exc:
            raise HTTPException(409, str(exc)) from exc
    if not found:
        raise HTTPException(404, f"incident {incident_id} not found")
    return _detail(conn, incident_id)


DECISION_RESPONSES: dict[int | str, dict] = {
    404: {"model": ErrorMessage, "description": "No such incident"},
    409: {"model": ErrorMessage, "description": "Not in a state this decision applies to"},
}


@router.post("/incidents/{incident_id}/confirm", summary="An agent confirms the dumping", responses=DECISION_RESPONSES)
def confirm_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: IncidentId, decision: Decision | None = None
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "confirm", decision or Decision())


class Dismissal(Decision):
    note: Text = Field(min_length=1, max_length=2000, description="Why it is not a dumping.")

    @model_validator(mode="after")
    def _said(self) -> Dismissal:
        if not self.note.strip():
            raise ValueError("a dismissal says why")
        return self


@router.post(
    "/incidents/{incident_id}/dismiss", summary="An agent dismisses it (with a note)", responses=DECISION_RESPONSES
)
def dismiss_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: IncidentId, decision: Dismissal
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "dismiss", decision)


@router.post("/incidents/{incident_id}/clear", summary="The object is gone", responses=DECISION_RESPONSES)
def clear_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: IncidentId, decision: Decision | None = None
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "clear", decision or Decision())


@router.post(
    "/incidents/{incident_id}/close", summary="Close a cleared or dismissed incident", responses=DECISION_RESPONSES
)
def close_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: IncidentId, decision: Decision | None = None
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "close", decision or Decision())
