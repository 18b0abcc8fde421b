"""Frigate's MQTT messages as Frigate publishes them (device_adapters/karroad/frigate.py).

The samples in tests/fixtures/frigate/ are built from Frigate's own source and documentation (read at
blakeblackshear/frigate e3fa70189, docs/incidents.md): `events_update_docs.json` is the sample of Frigate's
MQTT documentation with its comments removed; the others carry every key `TrackedObject.to_dict()`
writes, values as Frigate makes them (epoch seconds, detect-resolution boxes, a custom attribute)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from device_adapters.contract import Rejection
from device_adapters.karroad.frigate import epoch, parse_event

SAMPLES = Path(__file__).parents[1] / "fixtures" / "frigate"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def encode(message: dict) -> bytes:
    return json.dumps(message).encode()


def test_the_documented_sample_parses_with_frigates_meanings() -> None:
    message = parse_event(encode(sample("events_update_docs")))
    after = message.after
    assert (message.type, after.id, after.camera, after.label) == (
        "update", "1607123955.475377-mxklsc", "front_door", "person"
    )  # fmt: skip
    assert after.sub_label == ("John Smith", 0.79)  # [name, score] in Frigate's messages
    assert after.box == (432, 496, 544, 854) and after.current_zones == ["yard", "driveway"]
    assert after.recognized_license_plate == "ABC12345" and after.false_positive is False
    assert message.before is not None and message.before.score == 0.7890625
    assert epoch("start_time", after.start_time, NOW) == datetime(2020, 12, 4, 23, 19, 15, 475377, tzinfo=UTC)


def test_every_key_of_to_dict_and_a_custom_attribute_are_accepted() -> None:
    message = parse_event(encode(sample("events_new_after_false_positive")))
    assert message.type == "new" and message.before is not None and message.before.false_positive
    assert message.after.label == "couch" and message.after.snapshot is not None
    assert message.after.snapshot.box == (612, 388, 801, 540)


def test_an_end_message_carries_the_end_time_and_the_stationary_state() -> None:
    after = parse_event(encode(sample("events_end"))).after
    assert after.end_time == 1795424200.75 and after.stationary and after.motionless_count == 612
    assert epoch("end_time", after.end_time, NOW) > epoch("start_time", after.start_time, NOW)


def test_a_plate_read_by_frigate_is_kept_as_sent() -> None:
    after = parse_event(encode(sample("events_update_van_with_plate"))).after
    assert (after.label, after.recognized_license_plate) == ("car", "AB123CD")


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (lambda m: m["after"].update(box=[800, 390, 610, 541]), "invalid_field", "x1 < x2"),
        (lambda m: m["after"].update(box=[1, 2, 3]), "invalid_field", "after.box"),
        (lambda m: m.update(type="ended"), "invalid_field", "type"),
        (lambda m: m["after"].update(end_time=None) or m.update(type="end"), "invalid_field", "after.end_time"),
        (lambda m: m["after"].update(camera="rue des fleurs"), "invalid_field", "after.camera"),
        (lambda m: m["after"].update(score=1.5), "invalid_field", "after.score"),
        (lambda m: m["before"].update(id="1795420000.000001-other"), "invalid_field", "different objects"),
        (lambda m: m["after"].update(current_zones=["z"] * 33), "invalid_field", "after.current_zones"),
        (lambda m: m.pop("after"), "invalid_field", "after"),
        # the snapshot's box places Frigate's crop in the frame (masks, blurring): it must be a box too
        (lambda m: m["after"]["snapshot"].update(box=[801, 388, 612, 540]), "invalid_field", "x1 < x2"),
    ],
)
def test_what_is_not_frigates_shape_is_refused_with_a_reason(change, code: str, words: str) -> None:
    message = sample("events_end")
    change(message)
    with pytest.raises(Rejection) as refused:
        parse_event(encode(message))
    assert refused.value.code == code and words in refused.value.reason, refused.value.reason


def test_not_json_and_non_finite_numbers_are_refused() -> None:
    for payload, code in ((b"", "empty_payload"), (b"{not json", "invalid_json"), (b"\xff\xfe", "not_utf8")):
        with pytest.raises(Rejection) as refused:
            parse_event(payload)
        assert refused.value.code == code
    text = encode(sample("events_end")).replace(b'"score": 0.79', b'"score": NaN')
    with pytest.raises(Rejection):
        parse_event(text)


def test_frigate_times_are_checked_like_every_devices() -> None:
    with pytest.raises(Rejection) as refused:
        epoch("start_time", (NOW + timedelta(hours=1)).timestamp(), NOW)
    assert refused.value.code == "timestamp_in_future"
    with pytest.raises(Rejection) as refused:
        epoch("start_time", 1e20, NOW)
    assert refused.value.code == "invalid_timestamp"
