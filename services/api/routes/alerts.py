"""Alerts: the problems the evaluator found, each routed to a service (docs/alerts.md).

Every role may call these routes and sees the alerts of its own service (a role is a service: sanitation,
green_spaces, cleanliness...); admin and operator see all. An alert of another service is a 404, as if
it did not exist. An alert's detail shows its family's data (the readings around its trigger) only to the
family's readers, and is audited when that data is (services/auth/policy.py: FAMILY_READERS), as the
readings route is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from psycopg import sql
from pydantic import BaseModel, Field

from device_adapters.registry import metric_catalog
from services.alerts.actions import ActionRefused, acknowledge, assign, resolve_by_hand
from services.alerts.queries import ALERT_COLUMNS, series_source
from services.api.csv_export import Column, Dialect, DialectQuery, csv_response, time_column
from services.api.deps import ConnDep, PrincipalDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import ErrorMessage, Limit, Offset, Page, Text, invalid, label_filter, ordered, page
from services.auth.policy import family_readers
from services.auth.readers import visible_services
from services.auth.tokens import Principal

router = APIRouter(prefix="/alerts", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Alert id.")]
LIST_KEY = ("fired_at", "id")  # the list's order (newest first), unique: its keyset
AROUND = timedelta(minutes=30)  # the readings shown around the one that fired the alert


class Alert(BaseModel):
    id: int
    rule_id: int
    rule_name: str
    subject: str = Field(
        description="What the alert is about: the device id, or `<event type>:<key>` for a domain event."
    )
    device_id: str | None = Field(description="The device it was seen on.")
    family: str
    labels: dict[str, str] = Field(description="The device's labels when the alert fired.")
    service: str = Field(description="The service (role) the alert is routed to.")
    severity: Literal["info", "warning", "critical"]
    state: Literal["firing", "acknowledged", "resolved"]
    resolution: Literal["cleared", "by_hand", "retracted"] | None
    began_at: datetime = Field(description="When the condition began (event time: the readings' own clock).")
    fired_at: datetime = Field(description="When it had lasted the rule's `for` (event time).")
    cleared_at: datetime | None = Field(description="When a reading crossed back past the clear threshold.")
    trigger_time: datetime | None
    trigger_value: float | None
    worst_value: float | None
    summary: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    assignee: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AlertEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class Reading(BaseModel):
    time: datetime
    value: float


class AlertDetail(Alert):
    timeline: list[AlertEvent]
    readings_around_trigger: list[Reading] = Field(
        description=f"The watched metric from {AROUND} before to {AROUND} after the reading that fired it "
        "(empty for a caller who may not read the family's data: see `readings_withheld`)."
    )
    readings_withheld: str | None = Field(
        None, description="Why the readings are not shown: the caller's roles may not read the family's data."
    )


@router.get("", summary="Alerts of the caller's service, the most recently fired first")
def list_alerts(
    conn: ConnDep,
    principal: PrincipalDep,
    state: Literal["firing", "acknowledged", "resolved", "open"] | None = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    service: str | None = None,
    device_id: str | None = None,
    label: Annotated[
        list[str] | None,
        Query(max_length=20, description="`key=value`, repeatable: alerts whose device had every such label."),
    ] = None,
    rule: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Page[Alert]:
    ordered(start, end)  # zone-less or inverted times: a 422 naming the parameter, as on the readings
    key = decode_cursor(cursor, (datetime, int), offset)
    keyset, key_params = after(LIST_KEY, key, descending=True)
    where, params = _filters(principal, state, severity, service, device_id, label, rule, start, end)
    query = sql.SQL(
        "SELECT {columns} FROM alerts WHERE {where}{keyset} ORDER BY fired_at DESC, id DESC "
        "LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=sql.SQL(ALERT_COLUMNS), where=where, keyset=keyset)
    params |= {"limit": limit, "offset": offset}
    rows = conn.execute(query, {**params, **key_params}).fetchall()
    items = [Alert(**r) for r in rows]
    return page(items, limit, offset, next_cursor(rows, limit, LIST_KEY), by_cursor=key is not None)


def _filters(
    principal: Principal,
    state: str | None,
    severity: str | None,
    service: str | None,
    device_id: str | None,
    label: list[str] | None,
    rule: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[sql.Composable, dict[str, Any]]:
    """The list's WHERE clause and its parameters: the filters given, within the caller's services."""
    filters = [
        ("state <> 'resolved'" if state == "open" else "state = %(state)s", state),
        ("severity = %(severity)s", severity),
        ("service = %(service)s", service),
        ("device_id = %(device)s", device_id),
        ("labels @> %(labels)s", label_filter(label)),
        ("rule_name = %(rule)s", rule),
        ("fired_at >= %(start)s", start),
        ("fired_at < %(end)s", end),
        ("service = ANY(%(visible)s)", visible_services(principal)),
    ]
    where = sql.SQL(" AND ").join([sql.SQL("true"), *(sql.SQL(f) for f, v in filters if v is not None)])
    params = {
        "state": state, "severity": severity, "service": service, "device": device_id, "labels": label_filter(label),
        "rule": rule, "start": start, "end": end, "visible": visible_services(principal),
    }  # fmt: skip
    return where, params


CSV_ROWS = 50_000
CSV_COLUMNS = (
    ("id", None), ("rule_name", None), ("severity", None), ("state", None), ("service", None),
    ("device_id", None), ("subject", None), ("began_at", "time"), ("fired_at", "time"), ("cleared_at", "time"),
    ("metric", None), ("trigger_value", None), ("worst_value", None), ("unit", None), ("summary", None),
    ("acknowledged_by", None), ("acknowledged_at", "time"), ("assignee", None), ("resolution", None),
    ("resolved_by", None), ("resolved_at", "time"),
)  # fmt: skip


@router.get(
    ".csv",
    summary="Alerts of the caller's service as a CSV file (the list's filters; most recently fired first)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_alerts(
    conn: ConnDep,
    principal: PrincipalDep,
    dialect: DialectQuery = Dialect.STANDARD,
    state: Literal["firing", "acknowledged", "resolved", "open"] | None = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    service: str | None = None,
    device_id: str | None = None,
    label: Annotated[list[str] | None, Query(max_length=20, description="`key=value`, repeatable.")] = None,
    rule: str | None = None,
    start: Annotated[datetime | None, Query(description="Fired at or after.")] = None,
    end: Annotated[datetime | None, Query(description="Fired before.")] = None,
) -> Response:
    ordered(start, end)
    where, params = _filters(principal, state, severity, service, device_id, label, rule, start, end)
    query = sql.SQL(
        "SELECT {columns}, (SELECT r.definition->>'metric' FROM alert_rules r WHERE r.id = alerts.rule_id) AS metric "
        "FROM alerts WHERE {where} ORDER BY fired_at DESC, id DESC LIMIT %(cap)s"
    ).format(columns=sql.SQL(ALERT_COLUMNS), where=where)
    rows = conn.execute(query, params | {"cap": CSV_ROWS + 1}).fetchall()
    if len(rows) > CSV_ROWS:
        raise invalid("query", "start", f"more than {CSV_ROWS} alerts: narrow start/end or filter", None)
    catalog = metric_catalog()
    for r in rows:  # the values' unit is their rule's metric's (a domain event's alert has neither)
        spec = catalog.get((r["family"], r["metric"] or ""))
        r["unit"] = spec.unit if spec else None
    values = {"severity": "severity", "state": "alert_state", "resolution": "resolution", "service": "service"}
    columns = [
        time_column(name, dialect) if kind == "time" else Column(name, values=values.get(name))
        for name, kind in CSV_COLUMNS
    ]
    return csv_response(columns, ([r[name] for name, _ in CSV_COLUMNS] for r in rows), dialect, "alerts.csv")


def _visible_alert(conn: ConnDep, principal: Principal, alert_id: int, columns: str) -> dict[str, Any]:
    """The alert's ``columns`` if the caller's service may see it; a 404 otherwise (as if it did not exist)."""
    row = conn.execute(f"SELECT {columns} FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    visible = visible_services(principal)
    if row is None or (visible is not None and row["service"] not in visible):
        raise HTTPException(404, f"alert {alert_id} not found")
    return row


@router.get("/{alert_id}", summary="One alert with its timeline and the readings around the one that fired it")
def get_alert(conn: ConnDep, principal: PrincipalDep, request: Request, alert_id: AlertId) -> AlertDetail:
    row = _visible_alert(conn, principal, alert_id, ALERT_COLUMNS)
    timeline = conn.execute(
        "SELECT at, kind, actor, detail FROM alert_events WHERE alert_id = %s ORDER BY id", (alert_id,)
    ).fetchall()
    # the alert is the service's, its family's data is its readers': a rule routed to a service that may not
    # read the family (stored before routing was checked) must not show it what /readings refuses it
    readers = family_readers(row["family"])
    request.state.audit = request.state.audit or readers.audit
    request.state.audit_subject = f"alert:{alert_id}"
    withheld = None
    if not principal.roles & readers.roles:
        allowed = ", ".join(sorted(r.value for r in readers.roles))
        withheld = f"roles {', '.join(sorted(r.value for r in principal.roles))} may not read {row['family']} data "
        withheld += f"(allowed: {allowed})"
    readings = _around(conn, row) if withheld is None else []
    events = [AlertEvent(**e) for e in timeline]
    return AlertDetail(**row, timeline=events, readings_around_trigger=readings, readings_withheld=withheld)


class Note(BaseModel):
    model_config = {"extra": "forbid"}
    note: Text | None = Field(None, max_length=2000, description="What was done or seen (on the timeline).")


class Assignment(BaseModel):
    model_config = {"extra": "forbid"}
    assignee: Text | None = Field(max_length=200, description="Who handles it; null to unassign.")


def _acted(
    conn: ConnDep, principal: Principal, request: Request, alert_id: int, action: Callable[[], None]
) -> AlertDetail:
    _visible_alert(conn, principal, alert_id, "service")
    try:
        action()
    except ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    return get_alert(conn, principal, request, alert_id)


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorMessage, "description": "The alert's state does not allow it (e.g. resolved)"}
}


@router.post("/{alert_id}/ack", summary="Acknowledge a firing alert (someone is on it)", responses=CONFLICT)
def acknowledge_alert(
    conn: ConnDep, principal: PrincipalDep, request: Request, alert_id: AlertId, body: Note
) -> AlertDetail:
    return _acted(conn, principal, request, alert_id, lambda: acknowledge(conn, alert_id, principal.name, body.note))


@router.post("/{alert_id}/assign", summary="Assign an open alert to someone", responses=CONFLICT)
def assign_alert(
    conn: ConnDep, principal: PrincipalDep, request: Request, alert_id: AlertId, body: Assignment
) -> AlertDetail:
    return _acted(conn, principal, request, alert_id, lambda: assign(conn, alert_id, principal.name, body.assignee))


@router.post(
    "/{alert_id}/resolve",
    summary="Resolve an open alert by hand (its episode will not open another alert)",
    responses=CONFLICT,
)
def resolve_alert(
    conn: ConnDep, principal: PrincipalDep, request: Request, alert_id: AlertId, body: Note
) -> AlertDetail:
    return _acted(
        conn, principal, request, alert_id, lambda: resolve_by_hand(conn, alert_id, principal.name, body.note)
    )


def _around(conn: ConnDep, alert: dict[str, Any]) -> list[Reading]:
    rule = conn.execute("SELECT definition FROM alert_rules WHERE id = %s", (alert["rule_id"],)).fetchone()
    metric = rule["definition"].get("metric") if rule else None
    if not metric or alert["trigger_time"] is None:
        return []
    try:
        table, column = series_source(alert["family"], metric)
    except KeyError:
        return []
    query = sql.SQL(
        "SELECT time, {col} AS value FROM {tab} WHERE device_id = %s AND time BETWEEN %s AND %s "
        "AND {col} IS NOT NULL ORDER BY time LIMIT 500"
    ).format(col=sql.Identifier(column), tab=sql.Identifier(table))
    when = alert["trigger_time"]
    return [Reading(**r) for r in conn.execute(query, (alert["device_id"], when - AROUND, when + AROUND))]
