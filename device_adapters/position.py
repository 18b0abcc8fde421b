"""The position topic every family shares: ``<family>/<device_id>/position``, a device's own word on where it
is (a GPS fix), as OwnTracks and Home Assistant's device trackers send one.

Payload: ``{"lat": 50.5303, "lon": 2.6408, "ts": "2026-12-06T10:00:00Z"}`` (WGS 84 degrees; ``ts`` when the
fix was taken, optional: the receive time otherwise; ``accuracy_m`` optional, the fix's radius). Not retained.
The latest fix wins, unless staff placed the device by hand (``PUT /v1/devices/{id}/position``): a position
set through the API is kept until it is removed (docs/positions.md).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from device_adapters.contract import Decoded, DevicePosition, InboundMessage
from device_adapters.validation import StrictPayload, Timestamp, check_time, device_id_from, parse_json

POSITION_LEVEL = "position"


class PositionPayload(StrictPayload):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    ts: Timestamp | None = None
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] | None = None


def is_position_topic(topic: str) -> bool:
    levels = topic.split("/")
    return len(levels) == 3 and levels[2] == POSITION_LEVEL


def decode_position(family: str, message: InboundMessage) -> Decoded:
    device_id = device_id_from(message.topic.split("/")[1])
    fix = parse_json(PositionPayload, message.payload)
    at = check_time("ts", fix.ts, message.received_at) if fix.ts is not None else message.received_at
    return Decoded(family, device_id, (DevicePosition(device_id, fix.lat, fix.lon, at, fix.accuracy_m),))
