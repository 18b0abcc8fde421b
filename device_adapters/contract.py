"""The adapter contract: (topic, payload bytes, MQTT properties) -> canonical records, or a rejection.

Adapters are pure: no I/O, no clock (the receive time comes in the message), no global state. That is
what lets ingest replay a dead letter through a fixed adapter and get the same records, and lets
tests run adapters on sample payloads alone.

Records are frozen dataclasses; each names the table it lands in and the natural key that makes a
redelivered message land on the same row (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Protocol

# A device clock may run a little ahead of ours; beyond this a timestamp is treated as wrong.
MAX_CLOCK_AHEAD = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One MQTT message as ingest received it (immutable, like Home Assistant's ReceiveMessage)."""

    topic: str
    payload: bytes
    received_at: datetime
    user_properties: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    retain: bool = False  # published with the retain flag (the broker keeps a copy for later subscribers)


class Rejection(Exception):
    """A message that cannot become records. ``code`` is stable (for metrics and filters);
    ``reason`` is for a human and names the field or byte at fault."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# ---- canonical records ----------------------------------------------------------------------------
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


@dataclass(frozen=True, slots=True)
class DroneTelemetry:
    table: ClassVar[str] = "drone_telemetry"
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
    mission_id: str
    device_id: str
    ended_at: datetime
    status: str
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class MediaBlob:
    """Bytes for the content-addressed media store; the metadata row is keyed on the hash."""

    table: ClassVar[str] = "media"
    sha256: str
    content_type: str
    data: bytes = field(repr=False)
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class DroneFrame:
    table: ClassVar[str] = "drone_frames"
    time: datetime
    device_id: str
    mission_id: str
    chainage_m: float
    media_sha256: str
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """The latest known state of a detection event; a newer state replaces an older one."""

    table: ClassVar[str] = "camera_events"
    event_id: str
    device_id: str
    updated_at: datetime
    event_type: str  # new | update | end
    label: str
    score: float
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels
    zone: str | None
    start_time: datetime
    end_time: datetime | None
    stationary: bool
    has_snapshot: bool
    source: str = "karroad"


@dataclass(frozen=True, slots=True)
class CameraSnapshot:
    table: ClassVar[str] = "camera_snapshots"
    event_id: str
    device_id: str
    time: datetime
    media_sha256: str


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's word on its own link, on ``<family>/<device_id>/status`` in every family: ``online`` when
    it connects, ``offline`` as its last will (sent by the broker when the link dies) or on a clean exit."""

    table: ClassVar[str] = "devices"
    device_id: str
    online: bool
    time: datetime  # receive time: the will is published by the broker, not stamped by the device


Record = (
    GardenReading
    | DroneTelemetry
    | MissionStart
    | MissionEnd
    | MediaBlob
    | DroneFrame
    | CameraEvent
    | CameraSnapshot
    | DeviceStatus
)


@dataclass(frozen=True, slots=True)
class Decoded:
    """What an adapter made of a message: whose it is and the records to store."""

    family: str
    device_id: str
    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A numeric series a family stores: where it lives and what it means (for the readings API)."""

    name: str
    table: str
    column: str
    unit: str
    description: str


class DeviceAdapter(Protocol):
    """One device family. ``topic_root`` is the first topic level it owns (``ptipot/...``);
    ``topic_shapes`` are the topics its devices publish (``ptipot/<device_id>/readings``): the broker
    lets a device publish on those (and its status topic) and nothing else."""

    family: str
    topic_root: str
    topic_shapes: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]

    def decode(self, message: InboundMessage) -> Decoded:
        """Return the records of ``message`` or raise :class:`Rejection`."""
        ...
