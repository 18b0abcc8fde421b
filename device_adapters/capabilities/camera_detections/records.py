"""Karroad's records: detection events (their latest state) and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from device_adapters.storage import Owned

EVENT = Owned("camera_events", "event_id", "camera event")


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """The latest known state of a detection event; a newer state replaces an older one."""

    table: ClassVar[str] = "camera_events"
    owned_by: ClassVar[Owned] = EVENT
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
    # what a Frigate gateway adds (docs/incidents.md); Karroad's native cameras leave the defaults
    false_positive: bool = False
    motionless_count: int | None = None
    top_score: float | None = None
    current_zones: tuple[str, ...] = ()
    entered_zones: tuple[str, ...] = ()
    plate: str | None = None  # text Frigate read: police only (the API says only that one was read)
    gateway_id: str | None = None
    snapshot_box: tuple[int, int, int, int] | None = None  # Frigate crops its snapshots around it


@dataclass(frozen=True, slots=True)
class CameraSnapshot:
    table: ClassVar[str] = "camera_snapshots"
    owned_by: ClassVar[Owned] = EVENT
    event_id: str
    device_id: str
    time: datetime
    media_sha256: str


@dataclass(frozen=True, slots=True)
class LabelSnapshot:
    """A snapshot a Frigate gateway published for a camera and a label (no event id: the best frame of the
    latest object of that label); the same bytes published again (it is retained) are one row."""

    table: ClassVar[str] = "camera_label_snapshots"
    device_id: str
    label: str
    media_sha256: str
    time: datetime
    gateway_id: str
