"""Property-based hostile-device suite (issue 8): whatever a provisioned device publishes on its own
topics, between good messages, through the real broker and database. Invariants: the worker stays up
and healthy, every good message is stored exactly once, every bad one is dead-lettered exactly once
with a reason, and the worker's memory stays bounded. The number of examples is bounded so that the
suite stays within the test command's time budget."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, publish_all
from tests.integration.test_hostile_device import _jpeg_claiming

pytestmark = pytest.mark.integration

_DEVICE = "hostile-prop"  # one device: every example adds its own messages, distinguished by timestamp


json_keys = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["a\x00b", "\x00", "ts\x00", "soil_vwc_pct"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_keys, inner, max_size=4),
    max_leaves=12,
)
bad_payloads = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(json_keys, json_values, max_size=6).map(lambda d: json.dumps(d).encode()),
    st.just(b'{"ts":"2026-11-29T04:00:00Z","soil_vwc_pct":"\\udc80"}'),  # a lone surrogate escape
    st.just(b'{"ts":"2026-11-29T04:00:00Z","soil_vwc_pct":1' + b"0" * 400 + b"}"),  # a huge number
    st.integers(200, 5000).map(lambda depth: b"[" * depth + b"]" * depth),  # deep nesting
    st.integers(64 * 1024, 512 * 1024).map(lambda n: b'{"ts":"' + b"9" * n + b'"}'),  # large
    st.sampled_from([_jpeg_claiming(16000, 16000), _jpeg_claiming(0, 0), b"\xff\xd8\xff\xc0\x00\x02\xff\xd9"]),
)
bad_json_values = st.dictionaries(
    st.sampled_from(["ts", "soil_vwc_pct", "air_temp_c", "rain_mm"]), json_values, min_size=1, max_size=4
).map(lambda d: json.dumps(d).encode())


def _rss_mb() -> float:
    """The test process's resident memory now (ingest runs in it, as a thread). Its lifetime peak
    (``ru_maxrss``) said nothing of this test: it grew with every test before it (the browser tests' vision
    scenes took it past 1.5 GB in CI) and never comes down."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(bad=st.lists(bad_payloads | bad_json_values, min_size=1, max_size=6))
def test_no_payload_stops_stalls_or_blinds_ingest(stack, ingest, db, bad: list[bytes]) -> None:
    rss_before = _rss_mb()
    index = count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", _DEVICE)
    letters_before = count(db, "SELECT coalesce(sum(occurrences), 0) FROM dead_letters WHERE device_id = %s", _DEVICE)
    good = [garden(_DEVICE, _ts(index + i)) for i in range(len(bad) + 1)]
    messages: list[OutboundMessage] = []
    for i, payload in enumerate(bad):
        messages += [good[i], OutboundMessage(f"ptipot/{_DEVICE}/readings", payload)]
    messages.append(good[-1])
    assume(not any(_is_valid_reading(payload) for payload in bad))  # a valid reading is not hostile
    publish_all(stack, messages)
    wait_for(
        lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", _DEVICE) == index + len(good),
        timeout=30,
        what="every good reading",
    )
    letters = "SELECT coalesce(sum(occurrences), 0) FROM dead_letters WHERE device_id = %s"
    wait_for(
        lambda: count(db, letters, _DEVICE) == letters_before + len(bad),
        timeout=30,
        what="every bad payload dead-lettered once",
    )
    for message in good:  # exactly once
        ts = json.loads(message.payload)["ts"]
        assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s AND time = %s", _DEVICE, ts) == 1
    reasons = db.execute(
        "SELECT reason_code, reason FROM dead_letters WHERE device_id = %s AND reason = ''", (_DEVICE,)
    ).fetchall()
    assert reasons == [], "a dead letter without a reason"
    assert ingest.thread.is_alive()
    assert ingest.worker.metrics.health().healthy, ingest.worker.metrics.health()
    assert ingest.worker.stats.db_errors == 0 and not ingest.worker.failures
    # the largest payload is 512 KiB (a JPEG claiming 16000 x 16000 pixels would be 730 MB decoded): what the
    # payloads cost the process must stay far below what decoding them blindly would
    assert _rss_mb() - rss_before < 200, f"RSS grew by {_rss_mb() - rss_before:.0f} MB"


def _ts(i: int) -> str:
    return f"2026-11-27T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z"


def _is_valid_reading(payload: bytes) -> bool:
    from datetime import UTC, datetime

    from device_adapters.contract import InboundMessage, Rejection
    from device_adapters.registry import decode

    try:
        decode(InboundMessage(f"ptipot/{_DEVICE}/readings", payload, datetime.now(UTC)))
    except Rejection:
        return False
    except Exception:  # noqa: BLE001 - an adapter bug is dead-lettered as adapter_error
        return False
    return True


# ---- issue 19 item 0: MQTT v5 user properties the broker accepts ----------------------------------------
def _broker_accepts(c: str) -> bool:
    """Mosquitto 2.0's UTF-8 check (utf8_mosq.c): no controls, no non-characters; U+FEFF is fine."""
    cp = ord(c)
    return not (cp <= 0x1F or 0x7F <= cp <= 0x9F or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFF) >= 0xFFFE)


property_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]).filter(_broker_accepts) | st.just("\ufeff"),
    max_size=20,
)
_FRAME = (
    Path(__file__).parents[2] / "device_adapters/bathy/testdata/valid_frame_v5_properties/payload.jpg"
).read_bytes()
_DRONE = "hostile-props-drone"


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(extra=st.lists(st.tuples(property_text.map(lambda k: "x-" + k), property_text), min_size=1, max_size=4))
def test_no_user_property_the_broker_accepts_cuts_ingest_off(stack, ingest, db, extra) -> None:
    """Whatever user properties a device adds (U+FEFF, any script, empty strings), the frame is stored once
    and the worker keeps its connection: no reconnect, nothing left unacknowledged."""
    index = count(db, "SELECT count(*) FROM drone_frames WHERE device_id = %s", _DRONE)
    generation = ingest.worker.consumer.generation
    props = (("mission_id", "M-props"), ("ts", _ts(index)), ("chainage_m", "1.5"), *extra)
    publish_all(stack, [OutboundMessage(f"bathy/{_DRONE}/frame", _FRAME, props)])
    wait_for(
        lambda: count(db, "SELECT count(*) FROM drone_frames WHERE device_id = %s", _DRONE) == index + 1,
        what="the frame stored",
    )
    assert ingest.worker.consumer.generation == generation, "the worker reconnected"
    assert ingest.worker.metrics.health().healthy, ingest.worker.metrics.health()
