"""Silences: keep matching alerts from being delivered for a while (planned works on a sewer sector, a
garden being rebuilt). The alerts still exist and their timeline names the silence; the stream, the
webhooks and MQTT skip their events. A service may silence only its own alerts; admin and operator any."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, model_validator

from services.alerts.rules import LabelKey, LabelValue
from services.api.deps import ConnDep, PrincipalDep
from services.api.schemas import Text
from services.auth.readers import visible_services

router = APIRouter(prefix="/silences", tags=["alerts"])
SilenceId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Silence id.")]
COLUMNS = "id, rule_name, device_id, service, labels, starts_at, ends_at, comment, created_by, created_at"


class SilenceRequest(BaseModel):
    model_config = {"extra": "forbid"}
    rule_name: Text | None = Field(None, max_length=120, description="Only this rule's alerts.")
    device_id: Text | None = Field(None, max_length=64, description="Only this device's alerts.")
    service: Text | None = Field(None, max_length=40, description="Only this service's alerts.")
    labels: dict[LabelKey, LabelValue] | None = Field(
        None, max_length=20, description="Only alerts whose device had every one of these labels (a sector)."
    )
    starts_at: datetime | None = Field(None, description="Default: now.")
    ends_at: datetime
    comment: Text = Field(min_length=1, max_length=2000, description="Why (on every silenced event).")

    @model_validator(mode="after")
    def _window_and_matcher(self) -> SilenceRequest:
        if not (self.rule_name or self.device_id or self.service or self.labels):
            raise ValueError("a silence needs at least one of rule_name, device_id, service, labels")
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-11-29T08:00:00Z)")
        if self.ends_at <= (self.starts_at or datetime.now(UTC)):
            raise ValueError("ends_at must be after starts_at (and in the future)")
        return self


class Silence(BaseModel):
    id: int
    rule_name: str | None
    device_id: str | None
    service: str | None
    labels: dict[str, str] | None
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime


@router.post("", status_code=201, summary="Silence matching alerts for a time window")
def create_silence(conn: ConnDep, principal: PrincipalDep, request: SilenceRequest) -> Silence:
    own = visible_services(principal)
    if own is not None and request.service not in own:
        raise HTTPException(403, f"a silence of yours must name your service ({', '.join(own)})")
    row = conn.execute(
        f"INSERT INTO alert_silences (rule_name, device_id, service, labels, starts_at, ends_at, comment, "
        f"created_by) VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s) RETURNING {COLUMNS}",
        (request.rule_name, request.device_id, request.service, Jsonb(request.labels) if request.labels else None,
         request.starts_at, request.ends_at, request.comment, principal.name),
    ).fetchone()  # fmt: skip
    assert row is not None
    return Silence(**row)


@router.get("", summary="Silences, the active and future ones first")
def list_silences(conn: ConnDep, principal: PrincipalDep, active: bool | None = None) -> list[Silence]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM alert_silences WHERE (%(own)s::text[] IS NULL OR service = ANY(%(own)s)) "
        "AND (%(active)s::boolean IS NULL OR (now() >= starts_at AND now() < ends_at) = %(active)s) "
        "ORDER BY ends_at DESC LIMIT 1000",
        {"own": visible_services(principal), "active": active},
    ).fetchall()
    return [Silence(**r) for r in rows]


@router.post("/{silence_id}/expire", summary="End a silence now (it stays listed)")
def expire_silence(conn: ConnDep, principal: PrincipalDep, silence_id: SilenceId) -> Silence:
    row = conn.execute(
        f"UPDATE alert_silences SET ends_at = least(ends_at, greatest(now(), starts_at + interval '1 microsecond')) "
        f"WHERE id = %(id)s AND (%(own)s::text[] IS NULL OR service = ANY(%(own)s)) RETURNING {COLUMNS}",
        {"id": silence_id, "own": visible_services(principal)},
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"silence {silence_id} not found")
    return Silence(**row)
