"""What each role's daily task needs on the platform, made as the platform makes it: a frost alert from real
readings through the broker and the evaluator; a dumping incident from Frigate-style events through the broker
and the incident worker; a drone mission's frames analysed by the real vision worker."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from core.db import connect
from core.gateways import map_camera
from core.media_store import MediaStore
from core.settings import Settings
from device_adapters.bathy.scene import Conditions, Defect, Scene, render
from device_adapters.capabilities.pipe_inspection.records import DroneFrame, MissionEnd, MissionStart
from device_adapters.images import encode_jpeg
from services.alerts.store import save_pack
from services.incidents.worker import IncidentWorker
from services.vision.worker import VisionWorker
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, keyring, publish_all
from tests.integration.test_alerts import evaluate, frost_rule
from tests.integration.test_incidents import state
from tests.integration.test_pipe_inspection_family import _store


def frost_alert(stack: Settings, db: psycopg.Connection[Any], device: str) -> int:
    """A firing frost alert of green_spaces on ``device``: four readings below 1 °C, then the evaluator."""
    save_pack(db, [frost_rule(device)], source="test")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    points = [(40, 0.5), (35, 0.4), (25, 0.3), (20, 0.2)]
    publish_all(stack, [garden(device, (now - timedelta(minutes=m)).isoformat(), air_temp_c=v) for m, v in points])
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 4, what="4")
    evaluate(stack)
    row = wait_for(lambda: db.execute("SELECT id FROM alerts WHERE subject = %s", (device,)).fetchone(), what="alert")
    return int(row["id"])


def suspected_incident(stack: Settings, db: psycopg.Connection[Any], uid: str) -> int:
    """A couch left ten minutes on a camera's collection point: one suspected incident."""
    gateway, camera = f"bg{uid}", f"bc{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera)
    publish_all(stack, [state(gateway, f"1795.1-{uid}", "update", began_ago=600, seen_ago=5)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 1, what="event")
    with connect(stack.database_url) as conn:
        IncidentWorker(stack).work_once(conn)
    row = db.execute("SELECT id FROM incidents WHERE device_id = %s", (camera,)).fetchone()
    assert row is not None
    return int(row["id"])


# a crack over the crown at 4.5 m of a 10 m inspection, in a quarter of water
CRACKED = Scene(Conditions(water_level_pct=25), (Defect("BAB", 4.5, None, 11, 1, kind="circumferential"),), seed=11)


def inspected_mission(stack: Settings, db: psycopg.Connection[Any], uid: str) -> str:
    """A completed 10 m mission of a bathy drone, its frames stored as ingest stores them and analysed by the
    vision worker: its observations wait for a reviewer."""
    device, mission = f"bd{uid}", f"M-b-{uid}"
    start = datetime.now(UTC) - timedelta(minutes=5)
    media = MediaStore(stack.media_path)
    db.execute(
        "INSERT INTO devices (device_id, family, first_seen, last_seen) VALUES (%s, 'bathy', %s, %s)",
        (device, start, start),
    )
    _store(db, MissionStart(mission, device, start, f"BET-{uid[:4]}", "R1", "R2", "downstream", 600, "concrete"))
    for i in range(21):
        image, _ = render(CRACKED, i * 0.5)
        image[:8, :8] = int(uid[:2], 16)  # this test's own pixels: media are shared by content
        jpeg = encode_jpeg(image, 85)
        sha = hashlib.sha256(jpeg).hexdigest()
        media.put(sha, jpeg)
        db.execute(
            "INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id) "
            "VALUES (%s, 'image/jpeg', %s, %s, %s, 'bathy', %s) ON CONFLICT DO NOTHING",
            (sha, len(jpeg), image.shape[1], image.shape[0], device),
        )
        _store(db, DroneFrame(start + timedelta(seconds=2 * i + 1), device, mission, i * 0.5, sha, i))
    _store(db, MissionEnd(mission, device, start + timedelta(seconds=60), "completed", 10.0))
    worker = VisionWorker(stack, batch=8)
    with connect(stack.database_url) as conn:
        while worker.work_once(conn):
            pass
    assert count(db, "SELECT count(*) FROM observations WHERE mission_id = %s AND state = 'automatic'", mission)
    return mission
