"""Issue 19 item 13: what the contracts say, as the adapters decide it (pure: no broker, no database).

- duplicate JSON keys were silently resolved to the last value: refused, naming the key;
- bytes after a JPEG's EOI were refused as "truncated": real cameras append data there; accepted, stored
  exactly as sent (a JPEG without its EOI is still truncated);
- epoch milliseconds were read as milliseconds though every contract says seconds: refused with a reason
  that says so.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_adapters.contract import InboundMessage, Rejection
from device_adapters.karroad.frigate import epoch
from device_adapters.registry import decode
from device_adapters.validation import jpeg_blob

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def _jpeg(seed: int = 1) -> bytes:
    image = np.random.default_rng(seed).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def _garden(payload: bytes) -> InboundMessage:
    return InboundMessage("ptipot/g1/readings", payload, NOW)


def _rejected(message: InboundMessage) -> Rejection:
    with pytest.raises(Rejection) as caught:
        decode(message)
    return caught.value


# ---- duplicate keys ---------------------------------------------------------------------------------------
def test_a_key_sent_twice_is_refused_naming_the_key() -> None:
    payload = b'{"ts": "2026-11-29T03:00:00Z", "soil_vwc_pct": 20, "ts": "2026-11-29T03:59:00Z"}'
    rejection = _rejected(_garden(payload))
    assert rejection.code == "invalid_json" and "duplicate key 'ts'" in rejection.reason


def test_a_key_sent_twice_inside_a_frigate_object_is_refused() -> None:
    after = {
        "id": "1.0-a",
        "camera": "rue",
        "label": "person",
        "score": 0.9,
        "false_positive": False,
        "start_time": NOW.timestamp() - 10,
        "box": [1, 2, 30, 40],
    }
    text = json.dumps({"type": "new", "after": after})
    text = text.replace('"score": 0.9', '"score": 0.9, "score": 0.1')
    message = InboundMessage("karroad/gw1/events", text.encode(), NOW)
    rejection = _rejected(message)
    assert rejection.code == "invalid_json" and "duplicate key 'score'" in rejection.reason


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(["ts", "soil_vwc_pct", "air_temp_c"]), first=st.floats(0, 50), second=st.floats(0, 50))
def test_any_duplicated_key_is_refused_whatever_the_values(key: str, first: float, second: float) -> None:
    body = '{"ts": "2026-11-29T03:00:00Z", "soil_vwc_pct": 20'
    body += f', "{key}": {json.dumps(first if key != "ts" else "2026-11-29T03:00:01Z")}'
    body += f', "{key}": {json.dumps(second if key != "ts" else "2026-11-29T03:00:02Z")}}}'
    rejection = _rejected(_garden(body.encode()))
    assert f"duplicate key {key!r}" in rejection.reason


def test_the_same_key_in_different_objects_is_not_a_duplicate() -> None:
    decoded = decode(_garden(b'{"ts": "2026-11-29T03:00:00Z", "soil_vwc_pct": 20}'))
    assert decoded.records


# ---- bytes after EOI ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "tail",
    [b"\x00" * 64, b"MAKERNOTE\x01\x02" * 10, b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00" + b"\x00" * 10, b"\xff\xd9"],
    ids=["padding", "maker-data", "second-exif", "second-eoi"],
)
def test_bytes_after_the_end_of_image_are_accepted_and_kept_as_sent(tail: bytes) -> None:
    data = _jpeg() + tail
    blob = jpeg_blob(data)
    assert blob.data == data and blob.sha256 == hashlib.sha256(data).hexdigest()
    message = InboundMessage("karroad/c1/snapshots/ev-1", data, NOW, {"ts": "2026-11-29T03:59:00Z"})
    decoded = decode(message)
    assert decoded.records[0].data == data


@settings(max_examples=30, deadline=None)
@given(tail=st.binary(min_size=1, max_size=2048))
def test_any_tail_after_the_end_of_image_is_accepted(tail: bytes) -> None:
    data = _jpeg(2) + tail
    assert jpeg_blob(data).data == data


@pytest.mark.parametrize("cut", [2, 200, 600])
def test_a_jpeg_without_its_end_is_still_truncated(cut: int) -> None:
    data = _jpeg(3)[:-cut]
    with pytest.raises(Rejection) as caught:
        jpeg_blob(data)
    assert caught.value.code == "truncated_jpeg"


# ---- epoch seconds, not milliseconds -----------------------------------------------------------------------
def test_epoch_seconds_are_read_as_seconds() -> None:
    seconds = int(NOW.timestamp()) - 60
    decoded = decode(_garden(json.dumps({"ts": seconds, "soil_vwc_pct": 20}).encode()))
    assert decoded.records[0].time == datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize("value", [int(NOW.timestamp() * 1000) - 60_000, NOW.timestamp() * 1000.0])
def test_epoch_milliseconds_are_refused_not_guessed(value: float) -> None:
    rejection = _rejected(_garden(json.dumps({"ts": value, "soil_vwc_pct": 20}).encode()))
    assert rejection.code == "invalid_field" and "not Unix epoch seconds" in rejection.reason


def test_epoch_milliseconds_in_a_ts_user_property_are_refused() -> None:
    message = InboundMessage("karroad/c1/snapshots/ev-1", _jpeg(), NOW, {"ts": str(int(NOW.timestamp() * 1000))})
    rejection = _rejected(message)
    assert rejection.code == "invalid_property"
    frame = InboundMessage(
        "bathy/d1/frame", _jpeg(), NOW, {"mission_id": "M-1", "ts": str(int(NOW.timestamp() * 1000)), "chainage_m": "1"}
    )
    rejection = _rejected(frame)
    assert rejection.code == "invalid_property" and "not Unix epoch seconds" in rejection.reason


def test_frigate_milliseconds_are_refused_with_the_reason() -> None:
    with pytest.raises(Rejection, match="not Unix epoch seconds"):
        epoch("start_time", NOW.timestamp() * 1000, NOW)
    assert epoch("start_time", NOW.timestamp() - 5, NOW) < NOW
