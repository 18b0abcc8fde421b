"""Simulators speak exactly the device contracts, reproducibly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from device_adapters.bathy.simulator import DroneMission
from device_adapters.contract import InboundMessage, Rejection
from device_adapters.karroad.simulator import CameraFleet
from device_adapters.ptipot.simulator import GardenFleet
from device_adapters.registry import decode
from sim.faults import FaultInjector
from sim.publisher import OutboundMessage

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _run(sim, ticks: int, step_s: float) -> list[OutboundMessage]:
    out: list[OutboundMessage] = []
    for n in range(ticks):
        out.extend(sim.tick(n, T0 + timedelta(seconds=n * step_s)))
    return out


def _decode(message: OutboundMessage, at: datetime):
    return decode(InboundMessage(message.topic, message.payload, at, dict(message.user_properties)))


def test_garden_fleet_is_seeded_and_valid() -> None:
    a, b = _run(GardenFleet(devices=3, seed=1), 5, 1), _run(GardenFleet(devices=3, seed=1), 5, 1)
    assert [m.payload for m in a] == [m.payload for m in b]
    assert len(a) == 15
    assert {_decode(m, T0 + timedelta(minutes=1)).device_id for m in a} == {
        "sim-garden-01",
        "sim-garden-02",
        "sim-garden-03",
    }
    c = _run(GardenFleet(devices=3, seed=2), 5, 1)
    assert [m.payload for m in a] != [m.payload for m in c]


def test_drone_mission_speaks_the_contract_and_renders_real_frames() -> None:
    sim = DroneMission(seed=3, length_m=2.0, speed_mps=0.5, rate_hz=5, frame_every=5, missions=1)
    messages = _run(sim, 200, 0.2)
    assert sim.done
    topics = [m.topic.rsplit("/", 1)[-1] for m in messages]
    assert topics[0] == "start" and topics[-1] == "end"
    assert topics.count("telemetry") == 20 and topics.count("frame") == 4
    kinds = set()
    for m in messages:
        for record in _decode(m, T0 + timedelta(hours=1)).records:
            kinds.add(type(record).__name__)
    assert kinds == {"MissionStart", "DroneTelemetry", "DroneFrame", "MediaBlob", "MissionEnd"}
    frame = next(m for m in messages if m.topic.endswith("/frame"))
    image = cv2.imdecode(np.frombuffer(frame.payload, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (480, 640, 3)
    assert float(image.std()) > 10  # a picture, not a flat fill


def test_camera_events_follow_the_new_update_end_lifecycle() -> None:
    sim = CameraFleet(devices=2, seed=4, events=2)
    messages = _run(sim, 50, 1)
    assert sim.done
    events = [_decode(m, T0 + timedelta(hours=1)).records for m in messages if m.topic.endswith("/events")]
    types = [r[0].event_type for r in events]
    assert types.count("new") == 4 and types.count("end") == 4
    snapshots = [m for m in messages if "/snapshots/" in m.topic]
    assert len(snapshots) == 4
    assert all(_decode(s, T0 + timedelta(hours=1)).records[1].event_id in s.topic for s in snapshots)


def test_fault_injector_breaks_payloads_the_adapters_reject() -> None:
    faults = FaultInjector(random.Random(5), malformed=1.0)
    good = GardenFleet(devices=1, seed=5).tick(0, T0)[0]
    rejected = 0
    for _ in range(40):
        (broken,) = faults.apply(good)
        try:
            _decode(broken, T0)
        except Rejection:
            rejected += 1
    assert rejected == 40
    dup = FaultInjector(random.Random(5), duplicate=1.0).apply(good)
    assert dup == [good, good]


def test_late_and_skewed_timestamps_are_shifted() -> None:
    good = GardenFleet(devices=1, seed=6).tick(0, T0)[0]
    (late,) = FaultInjector(random.Random(6), late=1.0, late_hours=5).apply(good)
    assert _decode(late, T0).records[0].time == _decode(good, T0).records[0].time - timedelta(hours=5)
    (skewed,) = FaultInjector(random.Random(6), clock_skew_s=30 * 60).apply(good)
    with pytest.raises(Rejection) as caught:  # 30 min ahead of the receive time: beyond the 15 min allowed
        _decode(skewed, T0)
    assert caught.value.code == "timestamp_in_future"
