"""Frigate's MQTT output, as Frigate publishes it (docs/incidents.md has the source read for each field).

A Frigate server is a gateway: its ``<prefix>/events`` messages describe tracked objects of many cameras,
by the camera's name in Frigate's config. This module parses one such message into the object's state
after the change (``FrigateObject``), with Frigate's own field names and meanings; it refuses what is not
Frigate's shape with a reason, and ignores keys it does not use (Frigate adds any custom attribute of an
object to the message: a key more is not an error). Pure: no I/O, no clock.

``adapter.py`` turns a message into the camera family's records; ingest resolves the camera name through
the gateway's mapping (``core/gateways.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from device_adapters.contract import Rejection
from device_adapters.validation import MAX_EPOCH_SECONDS, check_time, parse_json

CAMERA_NAME = r"^[A-Za-z0-9_-]{1,64}$"  # Frigate's config: letters, digits, underscores and hyphens
LABEL = r"^[a-z][a-z0-9_ ]{0,31}$"
ZONE = Annotated[str, Field(max_length=64)]
Coordinate = Annotated[int, Field(ge=0, le=65535)]


def check_box(box: tuple[int, int, int, int]) -> None:
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box must be [x1, y1, x2, y2] with x1 < x2 and y1 < y2, got {list(box)}")


class _Lenient(BaseModel):
    """Frigate's messages: unknown keys ignored (Frigate adds custom attributes), numbers finite."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class FrigateSnapshot(_Lenient):
    """The frame chosen as the object's snapshot (``TrackedObject.thumbnail_data``)."""

    frame_time: float
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate]
    score: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _a_box(self) -> FrigateSnapshot:
        check_box(self.box)  # it places Frigate's crop in the frame (privacy masks, blurring)
        return self


class FrigateObject(_Lenient):
    """A tracked object's state (``TrackedObject.to_dict``): the fields the platform uses."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    camera: str = Field(pattern=CAMERA_NAME)
    frame_time: float | None = Field(None, gt=0)  # the frame this state is from
    label: str = Field(pattern=LABEL)
    sub_label: str | tuple[str, float] | None = None
    score: float = Field(ge=0, le=1)
    top_score: float | None = Field(None, ge=0, le=1)
    false_positive: bool
    start_time: float = Field(gt=0)
    end_time: float | None = Field(None, gt=0)
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate]
    active: bool = True
    stationary: bool = False
    motionless_count: int = Field(0, ge=0)
    current_zones: list[ZONE] = Field(default_factory=list, max_length=32)
    entered_zones: list[ZONE] = Field(default_factory=list, max_length=32)
    has_snapshot: bool = False
    snapshot: FrigateSnapshot | None = None
    recognized_license_plate: str | None = Field(None, max_length=32)

    @model_validator(mode="after")
    def _consistent(self) -> FrigateObject:
        check_box(self.box)
        if self.end_time is not None and self.end_time < self.start_time:
            raise ValueError("end_time is before start_time")
        return self


class FrigateEventMessage(_Lenient):
    type: Literal["new", "update", "end"]
    before: FrigateObject | None = None
    after: FrigateObject

    @model_validator(mode="after")
    def _consistent(self) -> FrigateEventMessage:
        if self.before is not None and (self.before.id, self.before.camera) != (self.after.id, self.after.camera):
            raise ValueError("before and after describe different objects")
        if self.type == "end" and self.after.end_time is None:
            raise ValueError("an 'end' message needs after.end_time")
        return self


def parse_event(payload: bytes) -> FrigateEventMessage:
    """One ``<prefix>/events`` message, or a ``Rejection`` naming what is wrong."""
    return parse_json(FrigateEventMessage, payload)


def epoch(name: str, seconds: float, received_at: datetime) -> datetime:
    """Frigate's times are Unix epoch seconds; checked as every device's timestamps are (not before
    2000, not further ahead than a clock may drift). Milliseconds are refused, not guessed."""
    if abs(seconds) > MAX_EPOCH_SECONDS:
        raise Rejection(
            "invalid_timestamp", f"{name}: {seconds!r} is not Unix epoch seconds (milliseconds? Frigate sends seconds)"
        )
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Rejection("invalid_timestamp", f"{name}: {seconds!r} is not a Unix time") from exc
    return check_time(name, moment, received_at)
