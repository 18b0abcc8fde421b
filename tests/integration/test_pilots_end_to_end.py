"""For each pilot: simulator -> Mosquitto -> ingest -> TimescaleDB -> HTTP API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from core.db import connect
from device_adapters.bathy.simulator import DroneMission
from device_adapters.karroad.simulator import CameraFleet
from device_adapters.ptipot.simulator import GardenFleet
from services.evidence.worker import EvidenceWorker
from sim.credentials import ApiProvisioner, DeviceKeyring
from sim.runner import run_simulator
from tests.conftest import count, wait_for

# everything the simulators sent (they stamp the current time), within the readings' longest span (31 days)
SINCE = (datetime.now(UTC) - timedelta(days=30)).isoformat()

pytestmark = pytest.mark.integration


def maker(settings, api) -> DeviceKeyring:
    """The simulators get their credentials as a device maker does: from the admin API (``api`` is an
    httpx client authenticated as an admin)."""
    return DeviceKeyring(settings, ApiProvisioner(api))


def test_garden_fleet_reaches_the_api(stack, ingest, api, db, uid) -> None:
    fleet = GardenFleet(devices=3, seed=11, prefix=f"g{uid}")
    assert run_simulator(fleet, stack, keyring=maker(stack, api), rate=50, count=10, stop=threading.Event()) == 0

    wait_for(
        lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id LIKE %s", f"g{uid}-%") == 30,
        what="30 garden readings",
    )
    devices = api.get("/v1/devices", params={"family": "ptipot", "limit": 1000}).json()["items"]
    assert {d["device_id"] for d in devices} >= {f"g{uid}-01", f"g{uid}-02", f"g{uid}-03"}

    raw = api.get(f"/v1/devices/g{uid}-01/readings", params={"metric": "soil_vwc_pct", "start": SINCE}).json()
    assert len(raw["items"]) == 10 and raw["next_offset"] is None
    stored = db.execute(
        "SELECT soil_vwc_pct FROM garden_readings WHERE device_id = %s ORDER BY time", (f"g{uid}-01",)
    ).fetchall()
    assert [r["value"] for r in raw["items"]] == [r["soil_vwc_pct"] for r in stored]

    bucketed = api.get(
        f"/v1/devices/g{uid}-01/readings",
        params={"metric": "soil_vwc_pct", "start": SINCE, "bucket": "1d"},
    ).json()
    assert sum(b["count"] for b in bucketed["items"]) == 10
    values = [r["value"] for r in raw["items"]]
    assert min(b["min"] for b in bucketed["items"]) == min(values)
    assert max(b["max"] for b in bucketed["items"]) == max(values)

    page = api.get(
        f"/v1/devices/g{uid}-01/readings",
        params={"metric": "soil_vwc_pct", "start": SINCE, "limit": 4},
    ).json()
    assert len(page["items"]) == 4 and page["next_offset"] == 4


def test_drone_mission_reaches_the_api(stack, ingest, api, db, uid) -> None:
    device = f"bathy-{uid}"
    mission = DroneMission(
        device_id=device, seed=12, length_m=3.0, speed_mps=0.5, rate_hz=50, frame_every=10, missions=1
    )
    assert run_simulator(mission, stack, keyring=maker(stack, api), rate=50, stop=threading.Event()) == 0

    listing = wait_for(
        lambda: api.get("/v1/missions", params={"device_id": device}).json()["items"], what="the mission"
    )
    mission_id = listing[0]["mission_id"]
    detail = wait_for(
        lambda: (d := api.get(f"/v1/missions/{mission_id}").json())["status"] == "completed" and d,
        what="the mission end",
    )
    assert detail["pipe_id"].startswith("BET-") and detail["diameter_mm"] in (300, 400, 600, 800, 1000)
    assert detail["telemetry_count"] == 300  # 3 m at 0.5 m/s sampled at 50 Hz
    assert detail["frame_count"] == 30
    assert detail["max_chainage_m"] == pytest.approx(2.99, abs=0.02)

    telemetry = api.get(f"/v1/missions/{mission_id}/telemetry", params={"limit": 10_000}).json()["items"]
    chainages = [t["chainage_m"] for t in telemetry]
    assert chainages == sorted(chainages) and len(chainages) == 300

    frames = api.get(f"/v1/missions/{mission_id}/frames").json()["items"]
    assert len(frames) == 30
    response = api.get(frames[3]["media_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (480, 640, 3)


def test_camera_events_reach_the_api(stack, ingest, api, db, uid) -> None:
    fleet = CameraFleet(devices=1, seed=13, events=2, prefix=f"cam{uid}")
    assert run_simulator(fleet, stack, keyring=maker(stack, api), rate=20, stop=threading.Event()) == 0
    device = f"cam{uid}-01"

    def ended() -> list[dict]:
        items = api.get("/v1/camera-events", params={"device_id": device}).json()["items"]
        return items if len(items) == 2 and all(e["event_type"] == "end" for e in items) else []

    events = wait_for(ended, what="two ended events")
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0)
        while worker.copy_once(conn):  # one image per camera per batch
            pass
    for event in events:
        assert event["end_time"] is not None and event["stationary"] is True
        detail = api.get(f"/v1/camera-events/{event['event_id']}").json()
        assert len(detail["snapshots"]) == 1 and detail["snapshots"][0]["privacy"] == "ready"
        snap = api.get(detail["snapshots"][0]["media_url"])  # the privacy copy, lossless
        assert snap.status_code == 200 and snap.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_faulty_fleet_stores_each_unique_reading_once(stack, ingest, api, db, uid) -> None:
    """Duplicates, late data (3 h old) and link drops every 5 ticks: every distinct reading stored once."""
    import random

    from sim.faults import FaultInjector

    fleet = GardenFleet(devices=2, seed=14, prefix=f"f{uid}")
    faults = FaultInjector(random.Random(14), duplicate=0.3, late=0.2, late_hours=3)
    assert (
        run_simulator(
            fleet,
            stack,
            keyring=maker(stack, api),
            rate=40,
            count=20,
            stop=threading.Event(),
            faults=faults,
            disconnect_every=5,
        )
        == 0
    )

    wait_for(
        lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id LIKE %s", f"f{uid}-%") == 40,
        what="40 distinct readings",
    )
    assert count(db, "SELECT count(*) FROM dead_letters WHERE device_id LIKE %s", f"f{uid}-%") == 0
    late = count(
        db,
        "SELECT count(*) FROM garden_readings WHERE device_id LIKE %s AND time < now() - interval '2 hours'",
        f"f{uid}-%",
    )
    assert late > 0  # late data is accepted and stored where it belongs in time


def test_out_of_order_and_late_readings_are_queryable_in_time_order(stack, ingest, api, db, uid) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.integration.helpers import garden, publish_all

    device = f"late{uid}"
    now = datetime.now(UTC).replace(microsecond=0)
    offsets_h = [0, -5, -1, -3, -2, -4]  # newest first, then hours-old readings, shuffled
    publish_all(
        stack, [garden(device, (now + timedelta(hours=h)).isoformat(), soil_vwc_pct=float(-h)) for h in offsets_h]
    )
    wait_for(
        lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 6, what="6 readings"
    )
    params = {
        "metric": "soil_vwc_pct",
        "start": (now - timedelta(hours=6)).isoformat(),
        "end": (now + timedelta(minutes=1)).isoformat(),
    }
    items = api.get(f"/v1/devices/{device}/readings", params=params).json()["items"]
    assert [item["value"] for item in items] == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    hourly = api.get(f"/v1/devices/{device}/readings", params={**params, "bucket": "1h"}).json()["items"]
    assert [b["count"] for b in hourly] == [1, 1, 1, 1, 1, 1]
