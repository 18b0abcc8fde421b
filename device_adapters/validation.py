"""Shared decoding steps: strict JSON into a pydantic model, topic parsing, timestamps, JPEG checks.

Pydantic (pydantic-core's JSON parser) does the heavy lifting: it rejects invalid UTF-8, NaN/Infinity,
wrong types and unknown fields, and bounds nesting; this module turns its errors into one readable
reason that names the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import cv2
import numpy as np
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from device_adapters.contract import MAX_CLOCK_AHEAD, MediaBlob, Rejection

M = TypeVar("M", bound=BaseModel)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
JPEG_SOI = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"
# The largest image the contracts accept, checked in the JPEG header before anything is decoded: a few
# hundred bytes can claim 16000x16000 pixels (a decompression bomb: 768 MB once decoded).
MAX_IMAGE_SIDE = 4096
MAX_IMAGE_PIXELS = 4096 * 3072
# Start-of-frame markers (SOF0-SOF15 without DHT C4, JPG C8 and DAC CC): they carry the image size.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}

# Epoch *seconds* above this are not a plausible time (year 2603): pydantic would read them as milliseconds,
# and so would guess what a device meant. The contracts say seconds: a number this large is refused.
MAX_EPOCH_SECONDS = 2e10
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")


def epoch_seconds_only(value: Any) -> Any:
    """Refuse a number (or a numeric string) too large to be Unix epoch seconds, with a reason that says so,
    instead of reading it as milliseconds as pydantic would."""
    number = value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
    if isinstance(number, int | float) and not isinstance(number, bool) and abs(number) > MAX_EPOCH_SECONDS:
        raise ValueError(
            f"{value!r} is not Unix epoch seconds (milliseconds? the contract says seconds, or ISO 8601 with a zone)"
        )
    return value


# ISO 8601 with a zone ("2026-11-28T10:00:00Z") or Unix epoch seconds (UTC by definition).
Timestamp = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(epoch_seconds_only)]


class StrictPayload(BaseModel):
    """Base for payload models: unknown keys are an error (a typo must not silently drop a value),
    numbers must be finite, and nothing is coerced from strings."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


def parse_json(model: type[M], payload: bytes) -> M:
    if not payload:
        raise Rejection("empty_payload", "the payload is empty; a JSON object was expected")
    try:
        parsed = model.model_validate_json(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        code = "invalid_json" if first["type"].startswith("json") else "invalid_field"
        if code == "invalid_json":
            _reject_if_not_utf8(payload)
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        msg = first["msg"].removeprefix("Value error, ")
        raise Rejection(code, f"{where}: {msg}{more}") from exc
    _reject_duplicate_keys(payload)
    return parsed


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _reject_duplicate_keys(payload: bytes) -> None:
    """A JSON object that names a key twice: parsers keep the last (pydantic's, Python's), others the first;
    a device that sends two ``ts`` is broken, and guessing which one it meant is not ours to do (RFC 8259
    §4: names SHOULD be unique). Read again by the standard library (pydantic does not report them), only
    once the payload is known to be valid."""
    try:
        json.loads(payload, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        key = storable_key(str(exc))
        raise Rejection("invalid_json", f"duplicate key {key!r}: a JSON object must name each key once") from exc
    except (ValueError, RecursionError):  # pydantic accepted it; nothing more to learn here
        return


def storable_key(key: str) -> str:
    """A device's key as a reason may quote it: bounded (the reason itself is made storable by ingest)."""
    return key if len(key) <= 64 else key[:64] + "…"


def _reject_if_not_utf8(payload: bytes) -> None:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = payload[exc.start : exc.start + 1].hex()
        raise Rejection("not_utf8", f"payload is not UTF-8: byte 0x{bad} at offset {exc.start}") from exc


def topic_pattern(shape: str) -> re.Pattern[str]:
    """A compiled fast path for ``shape``: placeholders match a valid device id, literals themselves.
    A topic that does not match goes through :func:`topic_parts` for a precise reason."""
    levels = [f"({DEVICE_ID.pattern[1:-1]})" if lvl.startswith("<") else re.escape(lvl) for lvl in shape.split("/")]
    return re.compile("/".join(levels))


def topic_parts(topic: str, root: str, shape: str) -> list[str]:
    """Split ``topic`` and check it has the documented shape, e.g. ``garden/<device_id>/readings``."""
    parts = topic.split("/")
    expected = shape.split("/")
    if len(parts) != len(expected) or parts[0] != root:
        raise Rejection("unknown_topic", f"topic {topic!r} does not match {shape!r}")
    for part, want in zip(parts, expected, strict=True):
        if not want.startswith("<") and part != want:
            raise Rejection("unknown_topic", f"topic {topic!r} does not match {shape!r}")
    return parts


def device_id_from(part: str) -> str:
    if not DEVICE_ID.fullmatch(part):  # whole: `$` also matches before a final newline
        raise Rejection("invalid_device_id", f"device id {part!r} must match {DEVICE_ID.pattern}")
    return part


def check_time(name: str, value: datetime, received_at: datetime) -> datetime:
    if value.tzinfo is None:
        raise Rejection("invalid_timestamp", f"{name}: timestamp has no time zone (use Z or +01:00)")
    if value < EARLIEST:
        raise Rejection("invalid_timestamp", f"{name}: {value.isoformat()} is before 2000-01-01")
    if value > received_at + MAX_CLOCK_AHEAD:
        raise Rejection(
            "timestamp_in_future",
            f"{name}: {value.isoformat()} is more than {MAX_CLOCK_AHEAD} ahead of the receive time "
            f"{received_at.isoformat()}",
        )
    return value.astimezone(UTC)


def jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's frame header, read without decoding anything; raises Rejection."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise Rejection("corrupt_jpeg", f"no JPEG marker at offset {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or start of scan before any frame header
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            raise Rejection("corrupt_jpeg", f"JPEG segment at offset {pos} has length {length}")
        if marker in _SOF_MARKERS:
            if pos + 9 > len(data):
                break
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + length
    raise Rejection("corrupt_jpeg", "the JPEG has no frame header (SOF) before its image data")


def _scan_offset(data: bytes) -> int | None:
    """Where the first scan (SOS) starts, walking the segments by their lengths; None if there is none."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
        elif marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
        elif marker == 0xDA:
            return pos
        elif marker == 0xD9:
            return None
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def jpeg_blob(data: bytes) -> MediaBlob:
    """Check that ``data`` is a whole, decodable JPEG of a bounded size and return it as a media blob.
    The size is read from the header first: an image over the limits is never decoded.

    Whole means an EOI marker after the image data (in entropy-coded data a 0xFF byte is always stuffed, so
    the first FF D9 after the scan starts is the image's end). Bytes after the EOI are accepted and stored
    exactly as sent: real cameras append maker data, a second EXIF block or padding there, and the image
    decodes the same (a masked camera's image is encoded again, and the privacy copy is, without them)."""
    if not data.startswith(JPEG_SOI):
        raise Rejection("not_jpeg", f"payload does not start with the JPEG SOI marker (got {data[:4].hex()})")
    width, height = jpeg_dimensions(data)  # the segments' structure first: corrupt is not truncated
    scan = _scan_offset(data)
    if scan is None or data.find(JPEG_EOI, scan + 2) < 0:
        raise Rejection("truncated_jpeg", "payload has no JPEG EOI marker after its image data: the image is truncated")
    if width == 0 or height == 0:
        raise Rejection("corrupt_jpeg", f"the JPEG header claims {width}x{height} pixels")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise Rejection(
            "image_too_large",
            f"the JPEG header claims {width}x{height} pixels; the limit is {MAX_IMAGE_SIDE} pixels a side "
            f"and {MAX_IMAGE_PIXELS} pixels in all",
        )
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise Rejection("corrupt_jpeg", "OpenCV could not decode the JPEG")
    if image.shape[:2] != (height, width):
        raise Rejection("corrupt_jpeg", f"the JPEG header claims {width}x{height} but decodes to another size")
    return MediaBlob(
        sha256=hashlib.sha256(data).hexdigest(), content_type="image/jpeg", data=data, width=width, height=height
    )
