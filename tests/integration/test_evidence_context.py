"""The privacy copy fails closed and follows its image's context (issue 19, item 3), through the real broker,
ingest, database, media store and API; and retained Frigate snapshots leave the broker when the platform
deletes or stops accepting a camera's data (item 4c).

A Frigate snapshot is published per camera and label (``<prefix>/<camera>/<label>/snapshot``), names no event,
and may arrive in any order with the events (MQTT orders nothing between topics): after its event ended (a
replayed scene, a gateway reconnecting), before its event, or the same JPEG from two gateways. A snapshot
published as a picture of a person (its topic says so) whose box cannot be placed is blurred whole, and a
copy is made again when its image gains boxes or masks; until then nothing is served (``privacy: pending``).
Blur is checked by pixels: the Laplacian variance inside the person's box, against the original's."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.db import connect
from core.device_registry import revoke
from core.gateways import map_camera, unmap_camera
from core.media_store import MediaStore
from core.privacy_masks import set_masks
from device_adapters.capabilities.camera_detections.geometry import snapshot_region
from services.evidence.clears import drain_clears
from services.evidence.retention import purge
from services.evidence.worker import EvidenceWorker
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import keyring, publish_all
from tests.integration.test_evidence import FRAME, PERSON, frigate, jpeg, stored, street

pytestmark = pytest.mark.integration

CAMERA_NAME = "rue_des_fleurs"  # the name tests.integration.test_evidence.frigate gives its events


def sharpness(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Laplacian variance inside ``box``: detail a blur removes (a striped figure scores in the thousands)."""
    x1, y1, x2, y2 = box
    gray = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def snapshot_of(frame: np.ndarray, *, crop: bool, height: int) -> tuple[bytes, tuple[int, int, int, int]]:
    """What Frigate publishes for the person with ``mqtt: {crop, height}`` (docs/incidents.md), and where the
    person is in it."""
    if crop:
        x1, y1, x2, y2 = snapshot_region(*FRAME, tuple(PERSON))  # type: ignore[arg-type]
    else:
        x1, y1, x2, y2 = 0, 0, *FRAME
    scale = height / (y2 - y1)
    image = cv2.resize(frame[y1:y2, x1:x2], (round((x2 - x1) * scale), height), interpolation=cv2.INTER_AREA)
    px1, py1, px2, py2 = PERSON
    person = (
        round((px1 - x1) * scale),
        round((py1 - y1) * scale),
        round((px2 - x1) * scale),
        round((py2 - y1) * scale),
    )
    return jpeg(image), person


def gateway_camera(stack: Any, gateway: str, camera: str) -> None:
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, CAMERA_NAME, camera, FRAME)


def copy_all(stack: Any) -> None:
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0, batch=50)
        while worker.copy_once(conn):
            pass


def served_copy(api: Any, headers: dict[str, str], event_id: str, sha: str, db: Any) -> np.ndarray | None:
    """The copy the API serves for ``event_id``'s image ``sha`` (None while it says pending)."""
    detail = api.get(f"/v1/camera-events/{event_id}", headers=headers)
    assert detail.status_code == 200, detail.text
    copies = {s["media_url"] for s in detail.json()["snapshots"] if s["privacy"] == "ready"}
    mine = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    url = None if mine is None or mine["copy_sha256"] is None else f"/v1/media/{mine['copy_sha256']}"
    if url not in copies:
        assert all(s["privacy"] != "ready" or s["media_url"] != url for s in detail.json()["snapshots"])
        return None
    got = api.get(url, headers=headers)
    assert got.status_code == 200
    return cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR)


def label_snapshot_sha(db: Any, camera: str) -> str:
    row = db.execute("SELECT media_sha256 FROM camera_label_snapshots WHERE device_id = %s", (camera,)).fetchone()
    return str(row["media_sha256"])


@pytest.mark.parametrize(
    ("crop", "height", "ended_ago"),
    [(True, 270, 30), (True, 500, 300), (False, 270, 30), (False, 720, 300)],
)
def test_a_person_snapshot_after_its_event_ended_is_blurred_whole(stack, ingest, db, uid, crop, height, ended_ago):
    """The event ended before the snapshot arrived: no box of the person is placed at that moment, yet the
    topic says the image shows a person. Before the fix the copy equalled the original."""
    gateway, camera = f"xg{uid}", f"xc{uid}"
    gateway_camera(stack, gateway, camera)
    publish_all(
        stack, [frigate(gateway, f"1797.2-{uid}", "person", PERSON, began_ago=ended_ago + 60, ended_ago=ended_ago)]
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 1)
    data, person = snapshot_of(street(int(uid[:5], 16) * 64 + 61), crop=crop, height=height)
    publish_all(stack, [OutboundMessage(f"karroad/{gateway}/{CAMERA_NAME}/person/snapshot", data, retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 1)
    copy_all(stack)
    sha = label_snapshot_sha(db, camera)
    row = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    original = stored(stack, sha)
    copy = stored(stack, row["copy_sha256"])
    assert sharpness(copy, person) < 0.05 * sharpness(original, person), "the person is not blurred"
    h, w = original.shape[:2]
    assert sharpness(copy, (0, 0, w, h)) < 0.1 * sharpness(original, (0, 0, w, h)), "not blurred whole"


def test_a_snapshot_before_its_event_is_blurred_whole_then_copied_again_with_the_box(stack, ingest, db, uid) -> None:
    """Snapshot first (the event is still on its way): blurred whole; the event's box arrives: the copy is
    made again, the person blurred and the rest of the frame sharp again."""
    gateway, camera = f"yg{uid}", f"yc{uid}"
    gateway_camera(stack, gateway, camera)
    data, person = snapshot_of(street(int(uid[:5], 16) * 64 + 62), crop=False, height=720)
    publish_all(stack, [OutboundMessage(f"karroad/{gateway}/{CAMERA_NAME}/person/snapshot", data, retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 1)
    copy_all(stack)
    sha = label_snapshot_sha(db, camera)
    original = stored(stack, sha)
    first = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    whole = (0, 0, original.shape[1], original.shape[0])
    assert sharpness(stored(stack, first["copy_sha256"]), whole) < 0.1 * sharpness(original, whole)

    publish_all(stack, [frigate(gateway, f"1797.3-{uid}", "person", PERSON, began_ago=20, ended_ago=None)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 1)
    # the image gained a box: its copy is to be made again, and nothing is served meanwhile
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s AND copy_pending", sha) == 1
    assert (
        db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()[
            "copy_sha256"
        ]
        is None
    )
    copy_all(stack)
    again = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    copy = stored(stack, again["copy_sha256"])
    assert sharpness(copy, person) < 0.05 * sharpness(original, person)
    far = (900, 50, 1270, 250)  # far from the person: sharp again (detail of the generated street)
    assert np.array_equal(copy[far[1] : far[3], far[0] : far[2]], original[far[1] : far[3], far[0] : far[2]])
    # the first copy (blurred whole) is no longer served to anyone
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s AND NOT personal", first["copy_sha256"]) == 0


def test_the_same_jpeg_from_a_second_gateway_never_gets_the_first_ones_copy(stack, ingest, api, issue_token, db, uid):
    """The defect as reproduced: gateway 1's person snapshot after its event ended was copied unblurred; the
    same JPEG then came from gateway 2 as the image of a live person, and cleanliness was served that copy."""
    g1, c1, g2, c2 = f"ag{uid}", f"ac{uid}", f"bg{uid}", f"bc{uid}"
    gateway_camera(stack, g1, c1)
    gateway_camera(stack, g2, c2)
    data, person = snapshot_of(street(int(uid[:5], 16) * 64 + 63), crop=True, height=270)
    publish_all(stack, [frigate(g1, f"1797.4-{uid}", "person", PERSON, began_ago=120, ended_ago=30)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", c1) == 1)
    publish_all(stack, [OutboundMessage(f"karroad/{g1}/{CAMERA_NAME}/person/snapshot", data, retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", c1) == 1)
    copy_all(stack)
    sha = label_snapshot_sha(db, c1)
    original = stored(stack, sha)

    live = f"1797.5-{uid}"
    publish_all(stack, [frigate(g2, live, "person", PERSON, began_ago=20, ended_ago=None)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", c2) == 1)
    publish_all(stack, [OutboundMessage(f"karroad/{g2}/{CAMERA_NAME}/person/snapshot", data, retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", c2) == 1)
    assert label_snapshot_sha(db, c2) == sha  # one file, two cameras
    cleanliness = {"Authorization": f"Bearer {issue_token('cleanliness', name=f'cl-{uid}')}"}
    before = served_copy(api, cleanliness, live, sha, db)  # pending, or a copy that blurs the person
    assert before is None or sharpness(before, person) < 0.05 * sharpness(original, person)
    copy_all(stack)
    after = served_copy(api, cleanliness, live, sha, db)
    assert after is not None and sharpness(after, person) < 0.05 * sharpness(original, person)


def test_hostile_gateway_person_snapshots_are_blurred(stack, ingest, db, uid) -> None:
    """A person snapshot with no event at all, and one whose event's box lies outside the frame: blurred whole."""
    gateway, camera = f"hg{uid}", f"hc{uid}"
    gateway_camera(stack, gateway, camera)
    outside = [1500, 800, 1600, 900]  # detect frame is 1280x720
    publish_all(stack, [frigate(gateway, f"1797.6-{uid}", "person", outside, began_ago=20, ended_ago=None)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 1)
    data, person = snapshot_of(street(int(uid[:5], 16) * 64 + 64), crop=False, height=480)
    publish_all(stack, [OutboundMessage(f"karroad/{gateway}/{CAMERA_NAME}/person/snapshot", data, retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 1)
    copy_all(stack)
    sha = label_snapshot_sha(db, camera)
    copy = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    original, blurred = stored(stack, sha), stored(stack, copy["copy_sha256"])
    assert sharpness(blurred, person) < 0.05 * sharpness(original, person)


def test_a_new_mask_makes_the_copy_again(stack, ingest, db, uid) -> None:
    camera = f"nm{uid}"
    keyring(stack).ensure({camera: "karroad"})
    image = street(int(uid[:5], 16) * 64 + 65)
    publish_all(
        stack,
        [frigate_native_event(camera, f"e{uid}"), OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", jpeg(image))],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)
    copy_all(stack)
    sha = db.execute("SELECT media_sha256 FROM camera_snapshots WHERE device_id = %s", (camera,)).fetchone()[
        "media_sha256"
    ]
    first = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    assert stored(stack, first["copy_sha256"])[100:300, 900:1200].max() > 30  # not masked yet
    with connect(stack.database_url) as conn:
        set_masks(conn, camera, [[(0.6, 0.0), (1.0, 0.0), (1.0, 0.5), (0.6, 0.5)]])
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s AND copy_pending", sha) == 1
    copy_all(stack)
    again = db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()
    assert stored(stack, again["copy_sha256"])[100:300, 900:1200].max() < 16  # masked in the copy
    with connect(stack.database_url) as conn:  # the same mask again: nothing to redo
        set_masks(conn, camera, [[(0.6, 0.0), (1.0, 0.0), (1.0, 0.5), (0.6, 0.5)]])
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s AND copy_pending", sha) == 0


def frigate_native_event(camera: str, event_id: str) -> OutboundMessage:
    """A native Karroad camera's event (a couch, no person) naming ``event_id``."""
    import json
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    body = {
        "ts": now.isoformat(), "event_id": event_id, "type": "new", "label": "couch", "score": 0.9,
        "box": [610, 390, 800, 541], "start_time": (now - timedelta(seconds=30)).isoformat(),
        "stationary": True, "has_snapshot": True,
    }  # fmt: skip
    return OutboundMessage(f"karroad/{camera}/events", json.dumps(body).encode())


# ---- item 4c: retained snapshots leave the broker ---------------------------------------------------------------


class RetainedReader:
    """A new subscriber to a gateway's topics: what the broker keeps retained for it. The gateway's retained
    ``online`` status is the fence: once it has arrived, so has every retained message of the subscription."""

    def __init__(self, stack: Any, gateway: str) -> None:
        self.stack, self.gateway = stack, gateway

    def retained(self) -> dict[str, bytes]:
        seen: dict[str, bytes] = {}
        done = threading.Event()
        status = f"{self.stack.mqtt_device_mount}karroad/{self.gateway}/status"

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            if msg.retain:
                seen[msg.topic] = msg.payload
            if msg.topic == status:
                done.set()

        reader = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"tlab-reader-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        reader.username_pw_set(*self.stack.mqtt_credentials())
        reader.on_message = on_message
        reader.on_connect = lambda c, *_: c.subscribe(f"{self.stack.mqtt_device_mount}karroad/{self.gateway}/#", qos=0)
        reader.connect(self.stack.mqtt_host, self.stack.mqtt_service_port)
        reader.loop_start()
        try:
            assert done.wait(10), "the gateway's retained status never came"
        finally:
            reader.disconnect()
            reader.loop_stop()
        return {t: p for t, p in seen.items() if t.endswith("/snapshot")}


def retained_scene(stack: Any, db: Any, uid: str, tag: str) -> tuple[str, str, RetainedReader]:
    gateway, camera = f"r{tag}{uid}", f"s{tag}{uid}"
    gateway_camera(stack, gateway, camera)
    data, _ = snapshot_of(street(int(uid[:5], 16) * 64 + 70 + ord(tag[0]) % 7), crop=True, height=270)
    publish_all(
        stack,
        [
            OutboundMessage(f"karroad/{gateway}/status", b"online", retain=True),
            OutboundMessage(f"karroad/{gateway}/{CAMERA_NAME}/couch/snapshot", data, retain=True),
        ],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 1)
    reader = RetainedReader(stack, gateway)
    assert len(reader.retained()) == 1  # the broker keeps it: what the fix must clear
    return gateway, camera, reader


def drain(stack: Any) -> None:
    """What `tlab evidence` does each cycle: publish the queued clears (the first through the worker itself)."""
    with connect(stack.database_url) as conn:
        assert EvidenceWorker(stack).clear_once(conn) >= 1
        drain_clears(conn, stack)
        assert conn.execute("SELECT count(*) AS n FROM retained_clears").fetchone() == {"n": 0}


def test_the_purge_clears_a_retained_snapshot_from_the_broker(stack, ingest, db, uid) -> None:
    _, camera, reader = retained_scene(stack, db, uid, "p")
    later = db.execute("SELECT now() + interval '31 days' AS t").fetchone()["t"]
    with connect(stack.database_url) as conn:
        purge(conn, MediaStore(stack.media_path), later, 30)
    assert count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 0
    drain(stack)
    wait_for(lambda: reader.retained() == {}, what="the retained snapshot cleared")


def test_unmapping_a_camera_clears_its_retained_snapshots(stack, ingest, db, uid) -> None:
    gateway, _, reader = retained_scene(stack, db, uid, "u")
    with connect(stack.database_url) as conn:
        assert unmap_camera(conn, gateway, CAMERA_NAME)
    drain(stack)
    wait_for(lambda: reader.retained() == {}, what="the retained snapshot cleared")


@pytest.mark.parametrize("who", ["camera", "gateway"])
def test_revoking_a_camera_or_its_gateway_clears_its_retained_snapshots(stack, ingest, db, uid, who) -> None:
    gateway, camera, reader = retained_scene(stack, db, uid, who[0])
    with connect(stack.database_url) as conn:
        revoke(conn, camera if who == "camera" else gateway)
    drain(stack)
    wait_for(lambda: reader.retained() == {}, what="the retained snapshot cleared")


def test_the_databases_private_labels_are_the_copys(db) -> None:
    """The re-queue triggers (migration karroad_0008) decide by the database's list; the copy by PRIVATE_LABELS."""
    from services.evidence.copies import PRIVATE_LABELS

    assert tuple(db.execute("SELECT evidence_private_labels() AS l").fetchone()["l"]) == PRIVATE_LABELS


def test_a_copy_made_while_its_context_changed_is_not_recorded(stack, ingest, db, uid, monkeypatch) -> None:
    """The worker reads the context, makes the copy (seconds), records it: a new box arriving in between must
    not leave a copy made without it recorded (and served) as current."""
    import services.evidence.copies as copies

    camera = f"st{uid}"
    keyring(stack).ensure({camera: "karroad"})
    image = street(int(uid[:5], 16) * 64 + 66)
    publish_all(
        stack,
        [frigate_native_event(camera, f"e{uid}"), OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", jpeg(image))],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)
    sha = db.execute("SELECT media_sha256 FROM camera_snapshots WHERE device_id = %s", (camera,)).fetchone()[
        "media_sha256"
    ]
    real_plan = copies.plan

    def plan_then_context_changes(conn: Any, sha256: str, size: tuple[int, int]) -> Any:
        made = real_plan(conn, sha256, size)
        with psycopg.connect(stack.database_url, autocommit=True) as other:  # as ingest would, meanwhile
            other.execute("SELECT evidence_requeue(%s)", ([sha256],))
        return made

    monkeypatch.setattr(copies, "plan", plan_then_context_changes)
    files_before = {p.name for p in Path(stack.media_path).rglob("*") if p.is_file()}
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0, batch=50)
        worker.copy_once(conn)
    assert count(db, "SELECT count(*) FROM evidence_copies WHERE original_sha256 = %s", sha) == 0
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s AND copy_pending", sha) == 1  # made next pass
    files_after = {p.name for p in Path(stack.media_path).rglob("*") if p.is_file()}
    assert files_after - files_before == set()  # the discarded copy's file is not left behind
    monkeypatch.undo()
    copy_all(stack)
    assert db.execute("SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (sha,)).fetchone()[
        "copy_sha256"
    ]
