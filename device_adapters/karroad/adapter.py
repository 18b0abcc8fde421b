"""Karroad illegal-dumping cameras. Contract: README.md beside this file.

The event model follows Frigate's (new / update / end, with a start and end time, a label, a score, a
box and zones), and a Frigate server speaks it too: with its ``topic_prefix`` set to
``karroad/<gateway id>``, its ``events`` messages arrive on this family's events topic and become the same
records, for the camera the gateway maps its camera name to (``frigate.py``, docs/incidents.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from device_adapters.capabilities.camera_detections import label_snapshot_shape
from device_adapters.capabilities.camera_detections.records import CameraEvent, CameraSnapshot, LabelSnapshot
from device_adapters.contract import Decoded, InboundMessage, MetricSpec, Rejection
from device_adapters.karroad.frigate import CAMERA_NAME, LABEL, epoch, parse_event
from device_adapters.validation import (
    StrictPayload,
    Timestamp,
    check_time,
    device_id_from,
    jpeg_blob,
    parse_json,
    topic_parts,
)

EVENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class EventPayload(StrictPayload):
    event_id: str = Field(pattern=EVENT_ID)
    type: Literal["new", "update", "end"]
    ts: Timestamp
    label: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    score: float = Field(ge=0, le=1)
    box: tuple[int, int, int, int]
    zone: str | None = Field(None, max_length=64)
    start_time: Timestamp
    end_time: Timestamp | None = None
    stationary: bool = False
    has_snapshot: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> EventPayload:
        x1, y1, x2, y2 = self.box
        if min(self.box) < 0 or x2 <= x1 or y2 <= y1:
            raise ValueError(f"box must be [x1, y1, x2, y2] with 0 <= x1 < x2 and 0 <= y1 < y2, got {list(self.box)}")
        if self.end_time is not None and self.end_time < self.start_time:
            raise ValueError("end_time is before start_time")
        if self.type == "end" and self.end_time is None:
            raise ValueError("an 'end' event needs end_time")
        return self


SHAPES = {
    "events": "karroad/<camera_id>/events",
    "snapshots": "karroad/<camera_id>/snapshots/<event_id>",
}
# a Frigate gateway's snapshot per camera and label (its topic_prefix is karroad/<gateway id>): retained, at the
# camera capability's shape for label snapshots (the purge clears them from the broker by it)
FRIGATE_SNAPSHOT = label_snapshot_shape("karroad")


class KarroadAdapter:
    family = "karroad"
    topic_root = "karroad"
    topic_shapes: tuple[str, ...] = (*SHAPES.values(), FRIGATE_SNAPSHOT)
    retained_shapes: tuple[str, ...] = (FRIGATE_SNAPSHOT,)
    metrics: tuple[MetricSpec, ...] = ()  # events, not numeric series

    def decode(self, message: InboundMessage) -> Decoded:
        levels = message.topic.split("/")
        if len(levels) == 5 and levels[4] == "snapshot":
            return self._frigate_snapshot(message)
        kind = levels[2] if len(levels) > 2 else ""
        if kind not in SHAPES:
            raise Rejection("unknown_topic", f"topic {message.topic!r} matches none of {sorted(SHAPES.values())}")
        parts = topic_parts(message.topic, self.topic_root, SHAPES[kind])
        camera_id = device_id_from(parts[1])
        if kind == "events":
            if _is_frigate(message.payload):  # a Frigate server whose topic_prefix is karroad/<gateway id>
                event, camera_name = frigate_event(camera_id, message)
                return Decoded(self.family, camera_id, (event,), via=camera_name)
            return Decoded(self.family, camera_id, (self._event(camera_id, message),))
        event_id = parts[3]
        if not _matches(EVENT_ID, event_id):
            raise Rejection("unknown_topic", f"event id {event_id!r} in the topic must match {EVENT_ID}")
        blob = jpeg_blob(message.payload)
        ts_prop = message.user_properties.get("ts")
        time = message.received_at if ts_prop is None else check_time("ts", _parse_ts(ts_prop), message.received_at)
        snapshot = CameraSnapshot(event_id=event_id, device_id=camera_id, time=time, media_sha256=blob.sha256)
        return Decoded(self.family, camera_id, (blob, snapshot))

    def _frigate_snapshot(self, message: InboundMessage) -> Decoded:
        """``<prefix>/<camera>/<label>/snapshot``: the JPEG of the camera's latest object of that label
        (Frigate's defaults crop it around the object and draw its box: docs/incidents.md)."""
        parts = topic_parts(message.topic, self.topic_root, FRIGATE_SNAPSHOT)
        gateway_id, camera_name, label = device_id_from(parts[1]), parts[2], parts[3]
        if not _matches(CAMERA_NAME, camera_name) or not _matches(LABEL, label):
            raise Rejection("unknown_topic", f"camera {camera_name!r} or label {label!r} is not one Frigate names")
        blob = jpeg_blob(message.payload)
        snapshot = LabelSnapshot(
            device_id=gateway_id, label=label, media_sha256=blob.sha256, time=message.received_at, gateway_id=gateway_id
        )
        return Decoded(self.family, gateway_id, (blob, snapshot), via=camera_name)

    def _event(self, camera_id: str, message: InboundMessage) -> CameraEvent:
        body = parse_json(EventPayload, message.payload)
        return CameraEvent(
            event_id=body.event_id,
            device_id=camera_id,
            updated_at=check_time("ts", body.ts, message.received_at),
            event_type=body.type,
            label=body.label,
            score=body.score,
            box=body.box,
            zone=body.zone,
            start_time=check_time("start_time", body.start_time, message.received_at),
            end_time=None if body.end_time is None else check_time("end_time", body.end_time, message.received_at),
            stationary=body.stationary,
            has_snapshot=body.has_snapshot,
            source=self.family,
        )


class _TsProperty(StrictPayload):
    model_config = StrictPayload.model_config | {"strict": False}
    ts: Timestamp


def _parse_ts(value: str) -> datetime:
    try:
        return _TsProperty.model_validate({"ts": value}).ts
    except ValueError as exc:
        raise Rejection("invalid_property", f"MQTT v5 user property ts: {value!r} is not a timestamp") from exc


def _is_frigate(payload: bytes) -> bool:
    """Frigate's events messages carry the object's state before and after the change; Karroad's native
    ones are flat (and refuse unknown keys: a native payload with an ``after`` key is refused anyway)."""
    return b'"after"' in payload and b'"event_id"' not in payload


def frigate_event(gateway_id: str, message: InboundMessage) -> tuple[CameraEvent, str]:
    """A Frigate ``events`` message -> the object's latest state, and the camera name it is about (ingest
    resolves it to the camera registered behind this gateway). The version is Frigate's ``frame_time``
    (a redelivered older state never replaces a newer one); the zone, the first zone the object is in."""
    body = parse_event(message.payload)
    after, received = body.after, message.received_at
    updated = received if after.frame_time is None else epoch("frame_time", after.frame_time, received)
    event = CameraEvent(
        event_id=after.id,
        device_id=gateway_id,
        updated_at=updated,
        event_type=body.type,
        label=after.label,
        score=after.score,
        box=after.box,
        zone=after.current_zones[0] if after.current_zones else None,
        start_time=epoch("start_time", after.start_time, received),
        end_time=None if after.end_time is None else epoch("end_time", after.end_time, received),
        stationary=after.stationary,
        has_snapshot=after.has_snapshot,
        source="frigate",
        false_positive=after.false_positive,
        motionless_count=after.motionless_count,
        top_score=after.top_score,
        current_zones=tuple(after.current_zones),
        entered_zones=tuple(after.entered_zones),
        plate=after.recognized_license_plate,
        gateway_id=gateway_id,
        snapshot_box=None if after.snapshot is None else after.snapshot.box,
    )
    return event, after.camera


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None  # whole: `$` also matches before a final newline
