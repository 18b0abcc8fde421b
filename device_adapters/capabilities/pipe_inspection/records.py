"""Bathy's records: missions (a pipe segment flown), telemetry along it, video frames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from device_adapters.storage import Owned

MISSION = Owned("missions", "mission_id", "mission")


@dataclass(frozen=True, slots=True)
class DroneTelemetry:
    table: ClassVar[str] = "drone_telemetry"
    owned_by: ClassVar[Owned] = MISSION
    time: datetime
    device_id: str
    mission_id: str
    chainage_m: float
    speed_mps: float | None = None
    heading_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    water_level_pct: float | None = None
    water_temp_c: float | None = None
    air_temp_c: float | None = None
    h2s_ppm: float | None = None
    ch4_pct_lel: float | None = None
    o2_pct: float | None = None
    battery_pct: float | None = None
    rssi_dbm: float | None = None


@dataclass(frozen=True, slots=True)
class MissionStart:
    table: ClassVar[str] = "missions"
    owned_by: ClassVar[Owned] = MISSION
    mission_id: str
    device_id: str
    started_at: datetime
    pipe_id: str
    start_manhole: str
    end_manhole: str
    direction: str
    diameter_mm: int
    material: str
    operator: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class MissionEnd:
    table: ClassVar[str] = "missions"
    owned_by: ClassVar[Owned] = MISSION
    mission_id: str
    device_id: str
    ended_at: datetime
    status: str
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class DroneFrame:
    table: ClassVar[str] = "drone_frames"
    owned_by: ClassVar[Owned] = MISSION
    time: datetime
    device_id: str
    mission_id: str
    chainage_m: float
    media_sha256: str
    seq: int | None = None
