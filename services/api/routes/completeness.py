"""Data completeness per device: the slots of its family's cadence that hold a reading (docs/experiments.md).

A garden sensor's contract says it reads at least every 15 minutes: over a day, 96 slots; a sensor with
readings in 90 of them is 94 % complete. Only families that declare a cadence (``Family.reports_every``) and
that the caller may read are listed; the console's devices page shows it beside online / offline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from device_adapters.registry import FAMILIES
from services.api.deps import ConnDep, PrincipalDep
from services.api.schemas import time_range
from services.auth.policy import family_readers
from services.experiments.kpis import Period, completeness_by_device

router = APIRouter(tags=["devices"])
MAX_SPAN = timedelta(days=31)


class DeviceCompleteness(BaseModel):
    device_id: str
    family: str
    cadence_s: float = Field(description="The family's cadence: a healthy device sends a reading at least this often.")
    slots_with_data: int = Field(description="Slots of that length in the span holding at least one reading.")
    slots_expected: float = Field(description="Slots in the span since the device was first seen.")
    share: float = Field(description="slots_with_data / slots_expected, at most 1.")


class CompletenessReport(BaseModel):
    start: datetime
    end: datetime
    devices: list[DeviceCompleteness]


@router.get("/data-completeness", summary="Per device, the share of its family's cadence slots holding a reading")
def data_completeness(
    conn: ConnDep, principal: PrincipalDep, start: datetime | None = None, end: datetime | None = None
) -> CompletenessReport:
    begin, finish = time_range(start, end, default=timedelta(hours=24), max_span=MAX_SPAN)
    readable = [f for f in FAMILIES if f.reports_every is not None and principal.roles & family_readers(f.name).roles]
    names = [f.name for f in readable]
    rows = conn.execute(
        "SELECT device_id, family FROM devices WHERE family = ANY(%s) ORDER BY device_id LIMIT 100000", (names,)
    ).fetchall()
    by_family = {name: [r["device_id"] for r in rows if r["family"] == name] for name in names}
    found = completeness_by_device(conn, {f: d for f, d in by_family.items() if d}, Period(begin, finish))
    return CompletenessReport(
        start=begin,
        end=finish,
        devices=[
            DeviceCompleteness(
                device_id=c.device_id,
                family=c.family,
                cadence_s=c.cadence_s,
                slots_with_data=c.slots_with_data,
                slots_expected=round(c.slots_expected, 3),
                share=round(c.share, 4),
            )  # fmt: skip
            for c in found
        ],
    )
