"""Dumping incidents (docs/incidents.md): listed and read by the cameras' readers (admin, operator,
cleanliness, police), decided by cleanliness agents (and operator, admin): confirm, dismiss (with a
note), clear, close. Each decision is in the incident's timeline with who and why; an incident's events
are its tracks (the object) and its context (vehicles and persons just before)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, Response
from psycopg import sql
from pydantic import BaseModel, Field, model_validator

from services.api.csv_export import Column, Dialect, DialectQuery, csv_response, time_column
from services.api.deps import ConnDep, MediaDep, PrincipalDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import ErrorMessage, Limit, Offset, Page, Text, invalid, page, zoned
from services.auth.roles import Role
from services.auth.tokens import Principal
from services.incidents import queries
from services.incidents.lifecycle import Action, NotAllowed, act, hold, release
from services.incidents.queries import LIST_KEY

router = APIRouter(tags=["incidents"])
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Incident id.")]
State = Literal["suspected", "confirmed", "dismissed", "cleared", "closed"]
HoldAction = Literal["hold", "release"]


class LegalHold(BaseModel):
    at: datetime
    by: str
    note: str | None


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
    legal_hold: LegalHold | None = Field(description="Set by police: its evidence is kept past retention.")
    evidence_purged_at: datetime | None = Field(description="When retention purged its images and events.")


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    note: str | None


class Evidence(BaseModel):
    time: datetime
    privacy: Literal["ready", "pending", "unavailable"] = Field(
        description="ready: url is the privacy copy; pending: being made (seconds); unavailable: not copyable."
    )
    url: str | None = Field(description="The privacy copy (masks, persons, vehicles, faces and plates blurred).")
    original_url: str | None = Field(
        description="Police only: the image as the camera sent it (masks applied); every view is audited with "
        "this incident."
    )


class IncidentEvent(BaseModel):
    event_id: str
    role: Literal["object", "context"]
    label: str
    start_time: datetime
    end_time: datetime | None
    plate_read: bool = Field(description="A number plate was read by the camera's software.")
    plate: str | None = Field(description="The plate text: police only (null for every other role).")
    evidence: list[Evidence]


class IncidentDetail(Incident):
    timeline: list[TimelineEntry]
    events: list[IncidentEvent]


class Decision(BaseModel):
    model_config = {"extra": "forbid"}
    note: Text | None = Field(None, max_length=2000, description="Why (required to dismiss).")


def _incident(row: dict) -> Incident:
    cleared = row["cleared_at"]
    seconds = (cleared - row["began_at"]).total_seconds() if cleared else None
    held = row.pop("held_at"), row.pop("held_by"), row.pop("hold_note")
    hold = LegalHold(at=held[0], by=held[1], note=held[2]) if held[0] else None
    return Incident(**row, time_to_clearance_s=seconds, legal_hold=hold)


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
    zoned("since", since)  # a zone-less time would be read in the server's zone: a 422 naming it
    key = decode_cursor(cursor, (datetime, int), offset)
    keyset, key_params = after(LIST_KEY, key, descending=True)
    rows = queries.list_incidents(
        conn,
        since=since or datetime.now().astimezone() - timedelta(days=30),
        state=state,
        device_id=device_id,
        label=label,
        limit=limit,
        offset=offset,
        keyset=keyset,
        key_params=key_params,
    )
    return page(
        [_incident(r) for r in rows], limit, offset, next_cursor(rows, limit, LIST_KEY), by_cursor=key is not None
    )


CSV_ROWS = 50_000


@router.get(
    "/incidents.csv",
    summary="Incidents as a CSV file (the list's filters), with each camera's place; most recent first",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_incidents(
    conn: ConnDep,
    dialect: DialectQuery = Dialect.STANDARD,
    state: Annotated[State | None, Query()] = None,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    label: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(description="Began at or after (default: 30 days ago).")] = None,
) -> Response:
    zoned("since", since)
    rows = queries.list_incidents(
        conn, since=since or datetime.now().astimezone() - timedelta(days=30), state=state, device_id=device_id,
        label=label, limit=CSV_ROWS + 1, offset=0, keyset=sql.SQL(""), key_params={},
    )  # fmt: skip
    if len(rows) > CSV_ROWS:
        raise invalid("query", "since", f"more than {CSV_ROWS} incidents: narrow since or filter", None)
    cameras = {r["device_id"] for r in rows}
    places = {
        d["device_id"]: d["location"]
        for d in conn.execute("SELECT device_id, location FROM devices WHERE device_id = ANY(%s)", (list(cameras),))
    }
    columns = [
        Column("id"), Column("device_id"), Column("location"), Column("label", values="object"), Column("zone"),
        Column("state", values="incident_state"),
        time_column("began_at", dialect), time_column("suspected_at", dialect), time_column("cleared_at", dialect),
        Column("time_to_clearance", "min"), Column("legal_hold"), time_column("evidence_purged_at", dialect),
    ]  # fmt: skip
    lines = (
        [r["id"], r["device_id"], places.get(r["device_id"]), r["label"], r["zone"], r["state"], r["began_at"],
         r["suspected_at"], r["cleared_at"],
         round((r["cleared_at"] - r["began_at"]).total_seconds() / 60, 1) if r["cleared_at"] else None,
         r["held_at"] is not None, r["evidence_purged_at"]]
        for r in rows
    )  # fmt: skip
    return csv_response(columns, lines, dialect, "incidents.csv")


def _is_police(principal: Principal) -> bool:
    return Role.POLICE in principal.roles


def _evidence(incident_id: int, item: dict, police: bool) -> Evidence:
    ready, sha = item["copy"] is not None, item["sha"]
    return Evidence(
        time=item["time"],
        privacy="ready" if ready else "unavailable" if item["error"] else "pending",
        url=f"/v1/media/{item['copy']}" if ready else None,
        original_url=f"/v1/incidents/{incident_id}/evidence/{sha}" if police else None,
    )


def _detail(conn: ConnDep, principal: Principal, incident_id: int) -> IncidentDetail:
    row = queries.incident(conn, incident_id)
    if row is None:
        raise HTTPException(404, f"incident {incident_id} not found")
    timeline = queries.timeline(conn, incident_id)
    police = _is_police(principal)
    events = [
        IncidentEvent(
            **{k: e[k] for k in ("event_id", "role", "label", "start_time", "end_time")},
            plate_read=e["plate"] is not None,
            plate=e["plate"] if police else None,
            evidence=[_evidence(incident_id, item, police) for item in e["evidence"]],
        )
        for e in queries.events(conn, row["tracks"], row["context"])
    ]
    return IncidentDetail(**_incident(row).model_dump(), timeline=[TimelineEntry(**t) for t in timeline], events=events)


def incident_subject(request: Request, incident_id: IncidentId) -> int:
    """The incident a call is about, written with the call to the audit log (``subject``)."""
    request.state.audit_subject = f"incident:{incident_id}"
    return incident_id


SubjectId = Annotated[int, Depends(incident_subject)]


@router.get(
    "/incidents/{incident_id}",
    summary="One incident with its events, evidence and timeline",
    responses={404: {"model": ErrorMessage, "description": "No such incident"}},
)
def get_incident(conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId) -> IncidentDetail:
    return _detail(conn, principal, incident_id)


@router.get(
    "/incidents/{incident_id}/evidence/{sha256}",
    summary="Police: an image of the incident as the camera sent it (every view audited with the incident)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}}},
        404: {"model": ErrorMessage, "description": "No such incident, or the image is not its evidence"},
        410: {"model": ErrorMessage, "description": "Purged (retention) or lost"},
    },
)
def get_original(
    conn: ConnDep,
    media: MediaDep,
    incident_id: SubjectId,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The original's SHA-256.")],
) -> FileResponse:
    evidence = queries.evidence_of(conn, incident_id)
    if evidence is None:
        raise HTTPException(404, f"incident {incident_id} not found")
    if sha256 not in evidence:
        raise HTTPException(404, f"image {sha256} is not evidence of incident {incident_id}")
    found = queries.content_type(conn, sha256)
    path = media.open(sha256)
    if found is None or path is None:
        raise HTTPException(410, f"image {sha256} is gone (retention or loss)")
    return FileResponse(path, media_type=found, headers={"Cache-Control": "private, no-store"})


def _decide(
    conn: ConnDep, principal: PrincipalDep, incident_id: int, action: Action | HoldAction, decision: Decision
) -> IncidentDetail:
    with conn.transaction():
        try:
            if action == "hold":
                found = hold(conn, incident_id, principal.name, decision.note or "")
            elif action == "release":
                found = release(conn, incident_id, principal.name, decision.note)
            else:
                found = act(conn, incident_id, action, principal.name, decision.note)
        except NotAllowed as exc:
            raise HTTPException(409, str(exc)) from exc
    if not found:
        raise HTTPException(404, f"incident {incident_id} not found")
    return _detail(conn, principal, incident_id)


DECISION_RESPONSES: dict[int | str, dict] = {
    404: {"model": ErrorMessage, "description": "No such incident"},
    409: {"model": ErrorMessage, "description": "Not in a state this decision applies to"},
}


@router.post("/incidents/{incident_id}/confirm", summary="An agent confirms the dumping", responses=DECISION_RESPONSES)
def confirm_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId, decision: Decision | None = None
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
    conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId, decision: Dismissal
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "dismiss", decision)


@router.post("/incidents/{incident_id}/clear", summary="The object is gone", responses=DECISION_RESPONSES)
def clear_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId, decision: Decision | None = None
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "clear", decision or Decision())


@router.post(
    "/incidents/{incident_id}/close", summary="Close a cleared or dismissed incident", responses=DECISION_RESPONSES
)
def close_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId, decision: Decision | None = None
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "close", decision or Decision())


class HoldRequest(Decision):
    note: Text = Field(min_length=1, max_length=2000, description="The legal ground (procedure, reference).")

    @model_validator(mode="after")
    def _said(self) -> HoldRequest:
        if not self.note.strip():
            raise ValueError("a legal hold names its ground")
        return self


@router.post(
    "/incidents/{incident_id}/hold",
    summary="Police: keep the incident's evidence past retention (legal hold)",
    responses=DECISION_RESPONSES,
)
def hold_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId, decision: HoldRequest
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "hold", decision)


@router.post(
    "/incidents/{incident_id}/release",
    summary="Police: lift the legal hold (the evidence then follows retention)",
    responses=DECISION_RESPONSES,
)
def release_incident(
    conn: ConnDep, principal: PrincipalDep, incident_id: SubjectId, decision: Decision | None = None
) -> IncidentDetail:
    return _decide(conn, principal, incident_id, "release", decision or Decision())
