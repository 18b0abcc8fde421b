"""The status topic every family shares: ``<family>/<device_id>/status``, payload ``online`` or ``offline``.

The convention of Frigate's ``frigate/available`` and Home Assistant's availability topics: a device
publishes ``online`` (retained) when it connects and sets ``offline`` (retained) as its MQTT last will,
so the broker announces a link that died; a device that stops cleanly publishes ``offline`` itself.
"""

from __future__ import annotations

from device_adapters.contract import Decoded, DeviceStatus, InboundMessage, Rejection
from device_adapters.validation import device_id_from

STATUS_LEVEL = "status"
# Frigate's own name for it: a Frigate server publishes <prefix>/available (online, offline as its will,
# stopped when it stops cleanly); with its prefix set to <family>/<gateway id> that is this topic too
AVAILABLE_LEVEL = "available"
PAYLOADS = {b"online": True, b"offline": False, b"stopped": False}


def is_status_topic(topic: str) -> bool:
    levels = topic.split("/")
    return len(levels) == 3 and levels[2] in (STATUS_LEVEL, AVAILABLE_LEVEL)


def decode_status(family: str, message: InboundMessage) -> Decoded:
    device_id = device_id_from(message.topic.split("/")[1])
    online = PAYLOADS.get(message.payload.strip())
    if online is None:
        shown = message.payload[:40].decode("utf-8", "replace")
        raise Rejection("invalid_status", f"a status payload is 'online', 'offline' or 'stopped', not {shown!r}")
    return Decoded(family, device_id, (DeviceStatus(device_id=device_id, online=online, time=message.received_at),))
