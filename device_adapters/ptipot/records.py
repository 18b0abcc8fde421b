"""Ptipot' records: one garden reading per message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class GardenReading:
    table: ClassVar[str] = "garden_readings"
    time: datetime
    device_id: str
    soil_vwc_pct: float | None = None
    soil_temp_c: float | None = None
    air_temp_c: float | None = None
    air_rh_pct: float | None = None
    light_lux: float | None = None
    rain_mm: float | None = None
