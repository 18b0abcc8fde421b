"""Bathy Drone Solutions pipe-inspection drone: its wire format (README.md beside this file), decoded into the
pipe-inspection capability's records (device_adapters/capabilities/pipe_inspection)."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, ValidationError

from device_adapters.capabilities.pipe_inspection.records import (
    TELEMETRY_METRICS,
    DroneFrame,
    DroneTelemetry,
    MissionEnd,
    MissionStart,
)
from device_adapters.contract import Decoded, InboundMessage, MediaBlob, MetricSpec, Rejection
from device_adapters.validation import (
    StrictPayload,
    Timestamp,
    check_time,
    device_id_from,
    jpeg_blob,
    parse_json,
    topic_parts,
)

MissionId = str
MISSION_ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class PipeSegment(StrictPayload):
    """The inspected segment, as in an EN 13508-2 header."""

    pipe_id: str = Field(min_length=1, max_length=64)
    start_manhole: str = Field(min_length=1, max_length=64)
    end_manhole: str = Field(min_length=1, max_length=64)
    direction: Literal["downstream", "upstream"]
    diameter_mm: int = Field(ge=50, le=5000)
    material: str = Field(min_length=1, max_length=64)


class MissionStartPayload(StrictPayload):
    mission_id: MissionId = MISSION_ID
    ts: Timestamp
    pipe: PipeSegment
    operator: str | None = Field(None, max_length=128)
    notes: str | None = Field(None, max_length=2000)


class MissionEndPayload(StrictPayload):
    mission_id: MissionId = MISSION_ID
    ts: Timestamp
    status: Literal["completed", "aborted", "failed"]
    distance_m: float | None = Field(None, ge=0, le=10_000)


class TelemetryPayload(StrictPayload):
    mission_id: MissionId = MISSION_ID
    ts: Timestamp
    chainage_m: float = Field(ge=0, le=10_000)
    speed_mps: float | None = Field(None, ge=-5, le=5)
    heading_deg: float | None = Field(None, ge=0, lt=360)
    pitch_deg: float | None = Field(None, ge=-90, le=90)
    roll_deg: float | None = Field(None, ge=-180, le=180)
    water_level_pct: float | None = Field(None, ge=0, le=100)
    water_temp_c: float | None = Field(None, ge=-5, le=60)
    air_temp_c: float | None = Field(None, ge=-30, le=70)
    h2s_ppm: float | None = Field(None, ge=0, le=1000)
    ch4_pct_lel: float | None = Field(None, ge=0, le=100)
    o2_pct: float | None = Field(None, ge=0, le=30)
    battery_pct: float | None = Field(None, ge=0, le=100)
    rssi_dbm: float | None = Field(None, ge=-150, le=0)


class FrameEnvelope(StrictPayload):
    """The JSON form of a frame, for MQTT 3.1.1 devices that have no user properties."""

    mission_id: MissionId = MISSION_ID
    ts: Timestamp
    chainage_m: float = Field(ge=0, le=10_000)
    seq: int | None = Field(None, ge=0)
    jpeg_b64: str


class FrameProperties(StrictPayload):
    """The MQTT v5 user properties of a binary frame (all strings on the wire)."""

    model_config = StrictPayload.model_config | {"strict": False, "extra": "ignore"}
    mission_id: MissionId = MISSION_ID
    ts: Timestamp
    chainage_m: float = Field(ge=0, le=10_000)
    seq: int | None = Field(None, ge=0)


SHAPES = {
    "telemetry": "bathy/<device_id>/telemetry",
    "frame": "bathy/<device_id>/frame",
    "mission": "bathy/<device_id>/mission/<event>",
}


class BathyAdapter:
    family = "bathy"
    topic_root = "bathy"
    topic_shapes: tuple[str, ...] = tuple(SHAPES.values())
    metrics: tuple[MetricSpec, ...] = TELEMETRY_METRICS  # it fills in every column of the shared table

    def decode(self, message: InboundMessage) -> Decoded:
        levels = message.topic.split("/")
        kind = levels[2] if len(levels) > 2 else ""
        if kind not in SHAPES:
            raise Rejection("unknown_topic", f"topic {message.topic!r} matches none of {sorted(SHAPES.values())}")
        device_id = device_id_from(topic_parts(message.topic, self.topic_root, SHAPES[kind])[1])
        if kind == "telemetry":
            return Decoded(self.family, device_id, (self._telemetry(device_id, message),))
        if kind == "frame":
            return Decoded(self.family, device_id, self._frame(device_id, message))
        return Decoded(self.family, device_id, (self._mission(device_id, levels[3], message),))

    def _telemetry(self, device_id: str, message: InboundMessage) -> DroneTelemetry:
        body = parse_json(TelemetryPayload, message.payload)
        values = {k: v for k, v in body.__dict__.items() if k not in ("ts", "mission_id")}  # flat model: no dump
        return DroneTelemetry(
            time=check_time("ts", body.ts, message.received_at),
            device_id=device_id,
            mission_id=body.mission_id,
            **values,
        )

    def _mission(self, device_id: str, event: str, message: InboundMessage) -> MissionStart | MissionEnd:
        if event == "start":
            start = parse_json(MissionStartPayload, message.payload)
            return MissionStart(
                mission_id=start.mission_id,
                device_id=device_id,
                started_at=check_time("ts", start.ts, message.received_at),
                operator=start.operator,
                notes=start.notes,
                **start.pipe.model_dump(),
            )
        if event == "end":
            end = parse_json(MissionEndPayload, message.payload)
            return MissionEnd(
                mission_id=end.mission_id,
                device_id=device_id,
                ended_at=check_time("ts", end.ts, message.received_at),
                status=end.status,
                distance_m=end.distance_m,
            )
        raise Rejection("unknown_topic", f"mission event {event!r} is neither 'start' nor 'end'")

    def _frame(self, device_id: str, message: InboundMessage) -> tuple[MediaBlob, DroneFrame]:
        if message.payload[:1] == b"{":
            envelope = parse_json(FrameEnvelope, message.payload)
            try:
                data = base64.b64decode(envelope.jpeg_b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise Rejection("invalid_field", f"jpeg_b64: not valid base64 ({exc})") from exc
            meta: FrameEnvelope | FrameProperties = envelope
        else:
            meta = _frame_properties(message)
            data = message.payload
        blob = jpeg_blob(data)
        frame = DroneFrame(
            time=check_time("ts", meta.ts, message.received_at),
            device_id=device_id,
            mission_id=meta.mission_id,
            chainage_m=meta.chainage_m,
            media_sha256=blob.sha256,
            seq=meta.seq,
        )
        return (blob, frame)


def _frame_properties(message: InboundMessage) -> FrameProperties:
    try:
        return FrameProperties.model_validate(dict(message.user_properties))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Rejection(
            "invalid_property",
            f"MQTT v5 user property {where}: {first['msg']} (binary frames need "
            "mission_id, ts, chainage_m; or send the JSON envelope)",
        ) from exc
