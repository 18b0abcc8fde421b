"""`tlab sim camera --scenario frigate`: what it publishes is Frigate's shape (decoded by the camera
family's adapter as a real Frigate server's messages are), and its scene makes exactly one incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from device_adapters.capabilities.camera_detections.records import CameraEvent, LabelSnapshot
from device_adapters.contract import InboundMessage
from device_adapters.karroad.frigate_sim import CYCLE_S, FrigateGateway
from device_adapters.registry import decode
from services.incidents.rule import Track, suspicions, zones_of


def test_the_frigate_scene_is_frigate_shaped_and_makes_one_incident() -> None:
    sim = FrigateGateway(devices=2, seed=3, scenes=1)
    start = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    latest: dict[str, CameraEvent] = {}
    snapshots: list[LabelSnapshot] = []
    kinds: dict[str, list[str]] = {}
    camera_of: dict[str, str] = {}
    now, n = start, 0
    at_three_minutes: dict[str, CameraEvent] = {}
    while not sim.done:
        for message in sim.tick(n, now):
            assert message.topic.startswith(f"karroad/{sim.gateway}/")
            decoded = decode(InboundMessage(message.topic, message.payload, now, retain=message.retain))
            for record in decoded.records:
                if isinstance(record, CameraEvent):
                    assert decoded.via in ("cam_01", "cam_02")
                    latest[record.event_id] = record
                    camera_of[record.event_id] = decoded.via
                    kinds.setdefault(record.event_id, []).append(record.event_type)
                elif isinstance(record, LabelSnapshot):
                    snapshots.append(record)
        if now - start == timedelta(minutes=3):  # the couch has stayed 2.5 min: suspected, still there
            at_three_minutes = dict(latest)
        now += timedelta(seconds=2)
        n += 1
    assert now - start >= timedelta(seconds=CYCLE_S)
    assert {s.label for s in snapshots} == {"car", "person", "couch"}
    by_label: dict[str, list[CameraEvent]] = {}
    for event in latest.values():
        by_label.setdefault(event.label, []).append(event)
    assert len(by_label["couch"]) == 2 and len(by_label["person"]) == 4  # each camera: an unloader, a passer-by
    assert all(e.false_positive for e in by_label["bag"])  # never confirmed, and no 'end' for it
    assert all(k[0] == "update" and "new" in k for e, k in kinds.items() if latest[e].label == "car")  # doubted first
    assert all(e.plate and e.end_time for e in by_label["car"])

    # each camera's tracks through the incident rule, while the couch is there and after it was taken away:
    # one incident, the couch, with the van and the unloader as context (not the passer-by, not the bag)
    for moment, states in (("suspected", at_three_minutes), ("cleared", latest)):
        for camera in ("cam_01", "cam_02"):
            tracks = [
                Track(
                    e.event_id,
                    camera,
                    e.label,
                    e.box,
                    zones_of(e.current_zones, e.entered_zones, e.zone),
                    e.start_time,
                    e.updated_at,
                    e.end_time,
                    e.stationary,
                    e.false_positive,
                )  # fmt: skip
                for e in states.values()
                if camera_of[e.event_id] == camera
            ]
            (incident,) = suspicions(tracks)
            assert incident.label == "couch" and incident.zone == "collection_point", (moment, incident)
            assert (incident.cleared_at is not None) == (moment == "cleared")
            assert sorted(states[e].label for e in incident.context) == ["car", "person"], (moment, incident)
