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
from typing import Any, ClassVar, Protocol

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
    # why the MQTT client could not decode the packet (its properties), when it could not: the message is
    # dead-lettered as ``malformed_packet`` (ingest/publish_packet.py); None for every well-formed message
    malformed: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One MQTT message as a device (or a simulator) publishes it."""

    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...] = ()
    qos: int = 1
    retain: bool = False


# Why a message is refused: a closed list, so device makers, dashboards and replay filters can rely on
# the codes (an adapter that invents one fails its golden tests). Ingest adds its own (ingest/writer.py).
REJECTION_CODES: dict[str, str] = {
    "unknown_family": "the topic's first level is no registered family",
    "unknown_topic": "the topic is not one the family's contract defines (shape, or an id level's characters)",
    "invalid_device_id": "the device id level has characters or a length the contract refuses",
    "empty_payload": "the payload is empty",
    "not_utf8": "a JSON payload that is not UTF-8",
    "invalid_json": "not parseable JSON, or JSON of the wrong shape",
    "invalid_field": "a field is missing, unknown, of the wrong type or out of range",
    "invalid_property": "an MQTT v5 user property is malformed",
    "invalid_timestamp": "a timestamp without a time zone, or before 2000",
    "timestamp_in_future": "a timestamp further ahead of the platform's clock than a device clock may drift",
    "invalid_status": "a status payload other than online/offline",
    "not_jpeg": "an image payload that is not a JPEG",
    "truncated_jpeg": "a JPEG without its end marker",
    "corrupt_jpeg": "a JPEG whose structure or pixels do not decode",
    "image_too_large": "an image larger than the platform decodes (pixels or side)",
}


class Rejection(Exception):
    """A message that cannot become records. ``code`` is stable (one of ``REJECTION_CODES``, for metrics
    and filters); ``reason`` is for a human and names the field or byte at fault."""

    def __init__(self, code: str, reason: str) -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"rejection code {code!r} is not in REJECTION_CODES (device_adapters/contract.py)")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# ---- records every family shares -----------------------------------------------------------------
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
class DevicePosition:
    """A device's own position fix, on ``<family>/<device_id>/position`` in every family
    (device_adapters/position.py): WGS 84 degrees, when the fix was taken."""

    table: ClassVar[str] = "devices"
    device_id: str
    lat: float
    lon: float
    time: datetime
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's word on its own link, on ``<family>/<device_id>/status`` in every family: ``online`` when
    it connects, ``offline`` as its last will (sent by the broker when the link dies) or on a clean exit."""

    table: ClassVar[str] = "devices"
    device_id: str
    online: bool
    time: datetime  # receive time: the will is published by the broker, not stamped by the device


# A family's records are its own (``<family>/records.py``); these kinds are shared by every family.
Record = Any  # a frozen dataclass with a ``table`` ClassVar, stored by its family's storage spec


@dataclass(frozen=True, slots=True)
class Decoded:
    """What an adapter made of a message: whose it is and the records to store."""

    family: str
    device_id: str
    records: tuple[Record, ...]
    # a gateway's message (one login for many devices: a Frigate NVR) names the device it speaks for by
    # the name the gateway knows it by; ingest resolves it to a registered device (core/gateways.py) and
    # puts that device's id on the records, or dead-letters the message (unknown_camera)
    via: str | None = None


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A numeric series a family stores: where it lives and what it means (for the readings API); ``label_fr``
    names it for the city's staff (alert texts, the console; empty: staff read ``name``)."""

    name: str
    table: str
    column: str
    unit: str
    description: str
    label_fr: str = ""


class DeviceAdapter(Protocol):
    """One device family. ``topic_root`` is the first topic level it owns (``garden/...``);
    ``topic_shapes`` are the topics its devices publish (``garden/<device_id>/readings``): the broker
    lets a device publish on those (and its status topic) and nothing else."""

    family: str
    topic_root: str
    topic_shapes: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]

    def decode(self, message: InboundMessage) -> Decoded:
        """Return the records of ``message`` or raise :class:`Rejection`."""
        ...
