"""The pipe vision serves whichever family flew a mission (issue 20, item 2): a mission of a drone whose family
no service names, stored with the pipe-inspection capability's records and storage, becomes observations;
the frame the vision annotates and the ``pipe_defect`` event it raises carry that drone's family (read from
the database, never written in the service), so they are read by its family's readers and matched by its
family's alert rules. On the real database and media store, with the real vision worker."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.db import connect
from core.media_store import MediaStore
from device_adapters.bathy.scene import Conditions, Defect, Scene, render
from device_adapters.capabilities.pipe_inspection.records import DroneFrame, MissionEnd, MissionStart
from device_adapters.capabilities.pipe_inspection.storage import STORAGE
from device_adapters.images import encode_jpeg
from device_adapters.storage import CopyTarget, Upsert
from services.vision.worker import VisionWorker
from tests.fixtures.vision_trust import trusting

pytestmark = pytest.mark.integration
# a joint squeezed by 15 % from the crown: grade 4, so the vision raises its event once the mission is over (its
# code trusted here: tests/fixtures/vision_trust.py)
SCENE = Scene(Conditions(water_level_pct=15), (Defect("BAA", 4.5, 7.5, 12, 12, 15.0),), seed=7)
STEP_M = 0.5
FAMILY = "sonde-tierce"  # registered nowhere: what the services know of it is what the database says


def _store(conn: psycopg.Connection[Any], record: Any) -> None:
    """As ingest writes a provider's record: by the capability's storage spec of its type."""
    spec = next(s for s in STORAGE if s.record_type is type(record))
    if isinstance(spec, Upsert):
        conn.execute(spec.sql, dataclasses.asdict(record))
        return
    assert isinstance(spec, CopyTarget)
    conn.execute(
        f"INSERT INTO {spec.table} ({', '.join(spec.columns)}) VALUES ({', '.join(['%s'] * len(spec.columns))})",
        spec.row(record, 0)[:-1],
    )


def test_a_mission_of_any_family_is_analysed_and_its_findings_carry_that_family(stack, db, uid) -> None:
    device, mission = f"st{uid}", f"M-st-{uid}"
    start = datetime.now(UTC) - timedelta(minutes=5)
    media = MediaStore(stack.media_path)
    db.execute(
        "INSERT INTO devices (device_id, family, first_seen, last_seen) VALUES (%s, %s, %s, %s)",
        (device, FAMILY, start, start),
    )
    _store(db, MissionStart(mission, device, start, "BET-77", "R7", "R8", "downstream", 600, "concrete"))
    for i in range(21):  # 0-10 m: past the defect
        image, _ = render(SCENE, i * STEP_M)
        for k, value in enumerate(bytes.fromhex(uid[:6])):  # this test's own pixels: media are shared by content
            image[:8, 8 * k : 8 * k + 8] = value
        jpeg = encode_jpeg(image, 85)
        sha = hashlib.sha256(jpeg).hexdigest()
        media.put(sha, jpeg)
        db.execute(
            "INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id) "
            "VALUES (%s, 'image/jpeg', %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (sha, len(jpeg), image.shape[1], image.shape[0], FAMILY, device),
        )
        _store(db, DroneFrame(start + timedelta(seconds=2 * i + 1), device, mission, i * STEP_M, sha, i))
    _store(db, MissionEnd(mission, device, start + timedelta(seconds=60), "completed", 10.0))

    worker = VisionWorker(stack, batch=4, trust=trusting("BAA"))
    with connect(stack.database_url) as conn:
        while worker.work_once(conn):
            pass

    (found,) = db.execute(
        "SELECT id, grade, provisional, annotated_sha256 FROM observations "
        "WHERE mission_id = %s AND code = 'BAA' AND state <> 'withdrawn'",
        (mission,),
    ).fetchall()
    assert found["grade"] == 4 and not found["provisional"] and found["annotated_sha256"]
    annotated = db.execute(
        "SELECT family, device_id, personal FROM media WHERE sha256 = %s", (found["annotated_sha256"],)
    ).fetchone()
    assert annotated == {"family": FAMILY, "device_id": device, "personal": False}
    event = db.execute(
        "SELECT family, device_id, withdrawn FROM domain_events WHERE type = 'pipe_defect' AND key = %s",
        (f"observation:{found['id']}",),
    ).fetchone()
    assert event == {"family": FAMILY, "device_id": device, "withdrawn": False}
