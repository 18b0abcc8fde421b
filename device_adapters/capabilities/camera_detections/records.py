"""The camera detections' records (``Capability.CAMERA_DETECTIONS``): detection events (their latest state),
the snapshots that name an event, and the snapshots a gateway publishes per camera and label. Every camera
family decodes its own wire format into these; the incidents, the privacy masks and copies, and retention
read their tables, whichever vendor sent them (README.md beside this file)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from device_adapters.storage import Owned

EVENT = Owned("camera_events", "event_id", "camera event")

# labels whose boxes the privacy copy blurs: people and what carries a number plate (the COCO names Frigate's
# models use, which every camera family uses for these); the database's evidence_private_labels() (core
# migration 0027) lists the same, for its re-queue triggers
PRIVATE_LABELS = ("person", "face", "car", "van", "truck", "bus", "motorcycle", "bicycle", "license_plate")


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """The latest known state of a detection event (a tracked object); a newer state replaces an older one."""

    table: ClassVar[str] = "camera_events"
    owned_by: ClassVar[Owned] = EVENT
    event_id: str
    device_id: str
    updated_at: datetime  # the version: a state with an older one never replaces a newer
    event_type: str  # new | update | end
    label: str  # lowercase; people and vehicles under the names PRIVATE_LABELS lists (their boxes are blurred)
    score: float
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the camera's (detect) pixels
    zone: str | None
    start_time: datetime
    end_time: datetime | None
    stationary: bool  # the object has stopped moving: what turns a left object into an incident
    has_snapshot: bool
    source: str  # who described it, set by the adapter: its family, or the software behind its gateway
    # what a tracker adds (a Frigate gateway does: docs/incidents.md); a camera that says less keeps the defaults
    false_positive: bool = False
    motionless_count: int | None = None
    top_score: float | None = None
    current_zones: tuple[str, ...] = ()
    entered_zones: tuple[str, ...] = ()
    plate: str | None = None  # text the camera's software read: police only (the API says only that one was read)
    gateway_id: str | None = None
    # the box of the frame its snapshot shows the object in, when the snapshot is a crop around it
    # (``geometry.snapshot_region`` says which part of the frame that crop is)
    snapshot_box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class CameraSnapshot:
    """A JPEG of an event, sent by the event's camera (the image itself is the ``MediaBlob`` beside it)."""

    table: ClassVar[str] = "camera_snapshots"
    owned_by: ClassVar[Owned] = EVENT
    event_id: str
    device_id: str
    time: datetime
    media_sha256: str


@dataclass(frozen=True, slots=True)
class LabelSnapshot:
    """A snapshot a gateway published for a camera and a label (no event id: the best frame of the latest
    object of that label, as Frigate publishes it, retained); the same bytes published again are one row."""

    table: ClassVar[str] = "camera_label_snapshots"
    device_id: str
    label: str
    media_sha256: str
    time: datetime
    gateway_id: str
