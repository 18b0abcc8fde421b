"""A defensive reader of MQTT v5 PUBLISH packets, for the ones paho refuses to decode.

paho 2.2 refuses a PUBLISH whose properties hold U+FEFF (``properties.readUTF``: "[MQTT-1.5.4-3]"), though
the spec says the opposite: U+FEFF "MUST NOT be skipped over or stripped off by a packet receiver"
(MQTT 5.0 §1.5.4). paho then drops the connection, and at QoS 1 the broker sends the same message again at
every reconnect: one publish cut ingest off from the broker (issue 19 item 0). Whatever the broker accepted
must not break ingest's connection, so ``ingest/consumer.py`` hands such a packet to :func:`read_publish`:
it reads the topic, the packet id and the payload by their lengths (the broker built the packet: its
structure is sound), and the properties tolerantly. U+FEFF is accepted as the spec says; anything else it
cannot decode (bytes that are not UTF-8, a NUL, a property id PUBLISH does not have) is listed in
``problems`` and the message is dead-lettered as ``malformed_packet`` (ingest/writer.py) with its topic and
raw payload, then acknowledged: the broker stops re-sending it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# PUBLISH properties (MQTT 5.0 §3.3.2.3): identifier -> how its value is encoded
_BYTE, _INT16, _INT32, _VARINT, _UTF8, _BINARY, _PAIR = range(7)
PUBLISH_PROPERTIES: dict[int, tuple[str, int]] = {
    0x01: ("Payload Format Indicator", _BYTE),
    0x02: ("Message Expiry Interval", _INT32),
    0x03: ("Content Type", _UTF8),
    0x08: ("Response Topic", _UTF8),
    0x09: ("Correlation Data", _BINARY),
    0x0B: ("Subscription Identifier", _VARINT),
    0x23: ("Topic Alias", _INT16),
    0x26: ("User Property", _PAIR),
}


class UnreadablePacket(ValueError):
    """The packet's structure itself is broken (a length beyond its end): nothing can be salvaged."""


@dataclass
class SalvagedPublish:
    """What could be read of a PUBLISH; ``problems`` says what could not be decoded (empty: nothing)."""

    dup: bool
    qos: int
    retain: bool
    topic: bytes
    mid: int
    payload: bytes
    user_properties: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None
    problems: list[str] = field(default_factory=list)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of a Variable Byte Integer (at most 4 bytes)."""
    value, shift = 0, 0
    for i in range(4):
        if pos + i >= len(data):
            raise UnreadablePacket("variable byte integer runs past the packet's end")
        byte = data[pos + i]
        value += (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise UnreadablePacket("variable byte integer longer than 4 bytes")


def _slice(data: bytes, pos: int, length: int, what: str) -> bytes:
    if pos + length > len(data):
        raise UnreadablePacket(f"{what} runs past the end of its block")
    return data[pos : pos + length]


def _text(raw: bytes, what: str, problems: list[str]) -> str:
    """Decode a UTF-8 string the way MQTT 5 asks, tolerantly: U+FEFF is text; what is not UTF-8 or holds
    U+0000 (§1.5.4-1/-2) is noted in ``problems`` and kept escaped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{what} is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
        return raw.decode("utf-8", "backslashreplace")
    if "\x00" in text:
        problems.append(f"{what} holds U+0000, which MQTT strings must not")
    return text


def _properties(block: bytes, out: SalvagedPublish) -> None:
    pos = 0
    while pos < len(block):
        ident, pos = _varint(block, pos)
        if ident not in PUBLISH_PROPERTIES:
            out.problems.append(f"property id 0x{ident:02x} is not a PUBLISH property; the rest were not read")
            return
        name, kind = PUBLISH_PROPERTIES[ident]
        if kind in (_BYTE, _INT16, _INT32):
            pos += {_BYTE: 1, _INT16: 2, _INT32: 4}[kind]
            if pos > len(block):
                raise UnreadablePacket(f"{name} runs past the end of the properties")
        elif kind == _VARINT:
            _, pos = _varint(block, pos)
        else:
            values = []
            for part in range(2 if kind == _PAIR else 1):
                (length,) = struct.unpack("!H", _slice(block, pos, 2, name))
                raw = _slice(block, pos + 2, length, name)
                pos += 2 + length
                label = f"{name} {'value' if part else 'name'}" if kind == _PAIR else name
                values.append(raw if kind == _BINARY else _text(raw, label, out.problems))
            if kind == _PAIR:
                out.user_properties.append((str(values[0]), str(values[1])))
            elif ident == 0x03:
                out.content_type = str(values[0])


def read_publish(header: int, packet: bytes | bytearray) -> SalvagedPublish:
    """Read a PUBLISH's variable header and payload (``packet``: everything after the fixed header)."""
    data = bytes(packet)
    qos = (header & 0x06) >> 1
    (topic_len,) = struct.unpack("!H", _slice(data, 0, 2, "topic length"))
    topic = _slice(data, 2, topic_len, "topic")
    pos = 2 + topic_len
    mid = 0
    if qos > 0:
        (mid,) = struct.unpack("!H", _slice(data, pos, 2, "packet id"))
        pos += 2
    props_len, pos = _varint(data, pos)
    block = _slice(data, pos, props_len, "properties")
    out = SalvagedPublish(
        dup=bool(header & 0x08),
        qos=qos,
        retain=bool(header & 0x01),
        topic=topic,
        mid=mid,
        payload=data[pos + props_len :],
    )
    try:
        _properties(block, out)
    except UnreadablePacket as exc:  # the block's own length is known: the payload is still right
        out.problems.append(f"properties not readable: {exc}")
    return out
