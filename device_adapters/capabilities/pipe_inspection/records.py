"""The records of a pipe inspection, whichever drone flew it: missions (a pipe segment flown), telemetry
along it, video frames. A family providing ``Capability.PIPE_INSPECTION`` decodes its own wire format into
these (README.md beside this file); the pipe vision, the observations and the reports read their tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from device_adapters.contract import MetricSpec
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


# The telemetry table's columns as readings (the readings API, the alert rules): they describe the shared
# table, so they live with it; a family whose drone measures less declares the subset it fills in.
_TABLE = DroneTelemetry.table
TELEMETRY_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "chainage_m", _TABLE, "chainage_m", "m", "Distance along the pipe from the start manhole", "Distance parcourue"
    ),
    MetricSpec("speed_mps", _TABLE, "speed_mps", "m/s", "Speed along the pipe", "Vitesse"),
    MetricSpec("heading_deg", _TABLE, "heading_deg", "°", "Heading (0-360)", "Cap"),
    MetricSpec("pitch_deg", _TABLE, "pitch_deg", "°", "Pitch", "Tangage"),
    MetricSpec("roll_deg", _TABLE, "roll_deg", "°", "Roll", "Roulis"),
    MetricSpec("water_level_pct", _TABLE, "water_level_pct", "%", "Water level as % of pipe diameter", "Hauteur d'eau"),
    MetricSpec("water_temp_c", _TABLE, "water_temp_c", "°C", "Water temperature", "Température de l'eau"),
    MetricSpec(
        "air_temp_c",
        _TABLE,
        "air_temp_c",
        "°C",
        "Air temperature in the pipe",
        "Température de l'air dans la canalisation",
    ),
    MetricSpec("h2s_ppm", _TABLE, "h2s_ppm", "ppm", "Hydrogen sulphide", "H₂S (sulfure d'hydrogène)"),
    MetricSpec("ch4_pct_lel", _TABLE, "ch4_pct_lel", "%LEL", "Methane, % of lower explosive limit", "Méthane (CH₄)"),
    MetricSpec("o2_pct", _TABLE, "o2_pct", "%", "Oxygen", "Oxygène"),
    MetricSpec("battery_pct", _TABLE, "battery_pct", "%", "Battery charge", "Batterie"),
    MetricSpec("rssi_dbm", _TABLE, "rssi_dbm", "dBm", "Link received signal strength", "Signal radio"),
)
