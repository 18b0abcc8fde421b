"""Experiments (issue 22, item 1; docs/experiments.md): a pilot tested on the territory for a period, its devices,
a baseline period to compare with, and the KPIs it is judged on, computed from the stored data.

The lab's staff (admin, operator) declare experiments; every role lists them; an experiment's KPIs are read by
the roles that read its capability's data (the pipe inspection's KPIs are pipe data), as JSON or CSV.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from device_adapters.capabilities import Capability
from device_adapters.registry import family_names
from device_adapters.validation import DEVICE_ID
from services.api.csv_export import Column, Dialect, DialectQuery, csv_response
from services.api.deps import ConnDep, PrincipalDep
from services.api.schemas import ErrorMessage, Text, invalid
from services.auth.policy import capability_readers, family_readers
from services.auth.tokens import Principal
from services.experiments.kpis import BY_CAPABILITY, CITY_VOLUME, Period, city_baseline, compute, devices_of
from services.experiments.records import RecordsRefused, parse

router = APIRouter(prefix="/experiments", tags=["experiments"])
ExperimentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MAX_SPAN = timedelta(days=3 * 366)  # a period longer than three years is a typo
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
COLUMNS = (
    "id, name, capability, family, devices, starts_at, ends_at, baseline_starts_at, baseline_ends_at, description, "
    "created_by, created_at"
)
CapabilityName = Literal["pipe_inspection", "camera_detections", "readings"]


class Span(BaseModel):
    model_config = {"extra": "forbid"}
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        for at in (self.starts_at, self.ends_at):
            if not EARLIEST <= at <= LATEST:  # year 1 or 9999 in a zone: stored, then unreadable (issue 22 probe)
                raise ValueError(f"{at.isoformat()} is not between 2000 and 2100")
        if self.starts_at >= self.ends_at:
            raise ValueError("starts_at must be before ends_at")
        if self.ends_at - self.starts_at > MAX_SPAN:
            raise ValueError("a period of more than three years")
        return self


class ExperimentIn(Span):
    name: Text = Field(min_length=1, max_length=200)
    capability: CapabilityName = Field(description="What the pilot provides: its KPIs follow.")
    family: str | None = Field(None, max_length=64, description="The pilot's device family (its devices by default).")
    devices: list[Annotated[str, Field(pattern=DEVICE_ID.pattern)]] = Field(
        default_factory=list, max_length=1000, description="Its devices (empty: the family's, or every provider's)."
    )
    baseline: Span | None = Field(None, description="A period before the pilot, to compare with.")
    description: Text | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _family_provides(self) -> ExperimentIn:
        self.name = self.name.strip()
        if not self.name:
            raise ValueError("a name that is not blank")
        if self.family is not None and self.family not in family_names(Capability(self.capability)):
            known = ", ".join(family_names(Capability(self.capability))) or "none"
            raise ValueError(f"family {self.family!r} does not provide {self.capability} (those that do: {known})")
        return self


class Experiment(BaseModel):
    id: int
    name: str
    capability: str
    family: str | None
    devices: list[str]
    starts_at: datetime
    ends_at: datetime
    baseline_starts_at: datetime | None
    baseline_ends_at: datetime | None
    description: str | None
    created_by: str
    created_at: datetime


class KpiValue(BaseModel):
    key: str
    label: str = Field(description="Its name for staff, in French.")
    unit: str
    definition: str
    value: int | float | None = Field(description="Over the experiment's period (none: nothing to compute it from).")
    baseline: int | float | None = Field(description="Over the baseline period, when the experiment has one.")


class Kpis(BaseModel):
    experiment: Experiment
    devices: list[str] = Field(description="The devices the KPIs are computed over.")
    measured_until: datetime = Field(
        description="The end of what was measured: the period's end, or now while the experiment runs (its "
        "rates per day and per week divide by the time elapsed, not by the period declared)."
    )
    baseline_source: Literal["platform", "city_records"] | None = Field(
        description="Where the baseline column comes from: the platform's data over the baseline period, or the "
        "city's imported records (PUT …/baseline-records); none without a baseline."
    )
    kpis: list[KpiValue]


class RecordsImported(BaseModel):
    records: int
    places: int
    first_day: str
    last_day: str


def _experiment(conn: psycopg.Connection[Any], experiment_id: int) -> Experiment:
    row = conn.execute(f"SELECT {COLUMNS} FROM experiments WHERE id = %s", (experiment_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"experiment {experiment_id} not found")
    return Experiment(**row)


async def _raw_body(request: Request) -> bytes:
    """The request's bytes (a CSV file: no JSON model to validate), read before the route's thread runs."""
    return await request.body()


def _require_reader(request: Request, principal: Principal, experiment: Experiment) -> None:
    """The KPIs are the pilot's data: its family's readers, else its capability's (services/auth/policy.py)."""
    what = experiment.family or experiment.capability
    readers = family_readers(experiment.family) if experiment.family else capability_readers(
        Capability(experiment.capability))  # fmt: skip
    request.state.audit = request.state.audit or readers.audit
    if not principal.roles & readers.roles:
        raise HTTPException(403, f"these roles may not read {what} data")


@router.get("", summary="Experiments, the most recent first")
def list_experiments(conn: ConnDep) -> list[Experiment]:
    rows = conn.execute(f"SELECT {COLUMNS} FROM experiments ORDER BY starts_at DESC, id DESC LIMIT 1000").fetchall()
    return [Experiment(**r) for r in rows]


@router.post("", status_code=201, summary="Declare an experiment",
             responses={409: {"model": ErrorMessage, "description": "An experiment has that name"}})  # fmt: skip
def post_experiment(conn: ConnDep, principal: PrincipalDep, body: ExperimentIn) -> Experiment:
    if body.devices:
        families = {r["device_id"]: r["family"] for r in conn.execute(
            "SELECT device_id, family FROM devices WHERE device_id = ANY(%s)", (body.devices,))}  # fmt: skip
        unknown = sorted(set(body.devices) - set(families))
        if unknown:
            raise invalid("body", "devices", f"not registered: {', '.join(unknown[:10])}", unknown[:10])
        # a device of another pilot would count in these KPIs, and be read by this pilot's readers
        allowed = {body.family} if body.family else set(family_names(Capability(body.capability)))
        foreign = sorted(d for d, f in families.items() if f not in allowed)
        if foreign:
            what = f"family {body.family}" if body.family else f"a family providing {body.capability}"
            raise invalid("body", "devices", f"not of {what}: {', '.join(foreign[:10])}", foreign[:10])
    baseline = body.baseline
    try:
        row = conn.execute(
            f"INSERT INTO experiments (name, capability, family, devices, starts_at, ends_at, baseline_starts_at, "
            f"baseline_ends_at, description, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            f"RETURNING {COLUMNS}",
            (body.name, body.capability, body.family, sorted(set(body.devices)), body.starts_at, body.ends_at,
             baseline.starts_at if baseline else None, baseline.ends_at if baseline else None, body.description,
             principal.name),
        ).fetchone()  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise HTTPException(409, f"an experiment is already named {body.name!r}") from exc
    assert row is not None
    return Experiment(**row)


@router.get("/{experiment_id}", summary="One experiment")
def get_experiment(conn: ConnDep, experiment_id: ExperimentId) -> Experiment:
    return _experiment(conn, experiment_id)


@router.get(
    "/{experiment_id}/kpis",
    summary="An experiment's KPIs over its period and its baseline, as JSON or CSV",
    response_model=Kpis,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def get_kpis(
    conn: ConnDep,
    principal: PrincipalDep,
    request: Request,
    experiment_id: ExperimentId,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
    dialect: DialectQuery = Dialect.STANDARD,
) -> Any:
    experiment = _experiment(conn, experiment_id)
    capability = Capability(experiment.capability)
    _require_reader(request, principal, experiment)
    assert capability in BY_CAPABILITY
    devices = devices_of(conn, capability, experiment.family, experiment.devices)
    now = datetime.now(UTC)
    until = max(experiment.starts_at, min(experiment.ends_at, now))  # no data exists after now
    found = compute(conn, capability, devices, Period(experiment.starts_at, until))
    baseline = (
        Period(experiment.baseline_starts_at, experiment.baseline_ends_at)
        if experiment.baseline_starts_at and experiment.baseline_ends_at else None
    )  # fmt: skip
    city = city_baseline(conn, experiment.id, baseline) if capability is Capability.CAMERA_DETECTIONS else None
    before: dict[str, Any] = {}
    source: Literal["platform", "city_records"] | None = None
    if city is not None:  # the city's records stand for the baseline: the platform had no cameras then
        before, source = city, "city_records"
        found = [*found, CITY_VOLUME]
    elif baseline is not None:
        before, source = {k.key: k.value for k in compute(conn, capability, devices, baseline)}, "platform"
    values = [KpiValue(key=k.key, label=k.label, unit=k.unit, definition=k.definition, value=k.value,
                       baseline=before.get(k.key)) for k in found]  # fmt: skip
    if format == "csv":
        columns = [Column("kpi"), Column("label", title_fr="indicateur"), Column("unit"), Column("value"),
                   Column("baseline"), Column("definition")]  # fmt: skip
        rows = ([v.key, v.label, v.unit, v.value, v.baseline, v.definition] for v in values)
        return csv_response(columns, rows, dialect, f"experiment-{experiment.id}-kpis.csv")
    return Kpis(experiment=experiment, devices=devices, measured_until=until, baseline_source=source, kpis=values)


@router.put(
    "/{experiment_id}/baseline-records",
    summary="Import the city's own records (CSV: date, place, volume) as the dumping pilot's baseline",
    responses={409: {"model": ErrorMessage, "description": "Not a dumping pilot (camera detections)"}},
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
def put_baseline_records(
    conn: ConnDep, experiment_id: ExperimentId, body: Annotated[bytes, Depends(_raw_body)]
) -> RecordsImported:
    """Replaces the experiment's records with the file's; a file with one wrong line is refused whole (422
    naming the line). Only for a dumping pilot (camera detections)."""
    experiment = _experiment(conn, experiment_id)
    if experiment.capability != Capability.CAMERA_DETECTIONS.value:
        raise HTTPException(409, "city records are a dumping pilot's baseline (capability camera_detections)")
    try:
        records = parse(body)
    except RecordsRefused as exc:
        raise invalid("body", "records", str(exc), None) from exc
    with conn.transaction():
        conn.execute("DELETE FROM experiment_baseline_records WHERE experiment_id = %s", (experiment_id,))
        with conn.cursor().copy(
            "COPY experiment_baseline_records (experiment_id, line, day, place, volume_m3) FROM STDIN"
        ) as copy:
            for r in records:
                copy.write_row((experiment_id, r.line, r.day, r.place, r.volume_m3))
    days = sorted(r.day for r in records)
    return RecordsImported(records=len(records), places=len({r.place for r in records}),
                           first_day=days[0].isoformat(), last_day=days[-1].isoformat())  # fmt: skip
