"""A second camera vendor is its folder (issue 20, item 2): the fixture family tests/fixtures/families/vigie,
registered only by TLAB_EXTRA_FAMILIES (tests/conftest.py), with a wire format of its own, declares the
camera capabilities and nothing else, and the platform serves it end to end through the real broker,
ingest, database, workers and API:

- its camera, provisioned over the API, publishes over MQTT with its own credentials;
- a couch left still on the pavement for ten minutes becomes an incident (the incidents worker's pass),
  whose domain event names the camera's family as the registry of devices knows it, so the camera
  capability's alert pack, copied for the family, tells the cleanliness service (the alerts worker's pass);
- the privacy mask set over the API is applied to the image ingest stores, the copy (the evidence worker's
  pass) blurs the person walking by, the cleanliness service reads the copy through the API and is refused
  the original, police read the original through the incident;
- past the retention period the purge removes its events, snapshots, copies, files and dead letters.

The test names the family only as data: the services it exercises know it by its capabilities."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from typing import Any

import cv2
import numpy as np
import pytest

from core.db import connect
from core.gateways import map_camera, unmap_camera
from core.media_store import MediaStore
from device_adapters.capabilities import Capability
from device_adapters.masking import black_out
from device_adapters.registry import family, providing
from services.alerts.evaluator import AlertEvaluator
from services.alerts.packs import capability_pack, family_pack
from services.alerts.store import save_pack
from services.evidence.retention import purge
from services.evidence.worker import EvidenceWorker
from services.incidents.worker import IncidentWorker
from sim.credentials import ApiProvisioner, DeviceKeyring
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import keyring, publish_all
from tests.integration.test_evidence import COUCH, FRAME, PERSON, WINDOW, jpeg, stored, street

pytestmark = pytest.mark.integration
NAME = "vigie"


def detection(camera: str, detection_id: str, label: str, box: list[int], *, first_seen_ago: float,
              still: bool, image: bool = False, **fields: Any) -> OutboundMessage:  # fmt: skip
    """A detection in the fixture's own format: times in epoch milliseconds, a box as corner and size."""
    now_ms = int(time.time() * 1000)
    x1, y1, x2, y2 = box
    body = {
        "detection_id": detection_id, "phase": "tracking", "at_ms": now_ms - 2000,
        "first_seen_ms": now_ms - int(first_seen_ago * 1000), "left_ms": None, "object": label,
        "confidence_pct": 88, "bbox": {"x": x1, "y": y1, "w": x2 - x1, "h": y2 - y1}, "area": "collection_point",
        "still": still, "image": image, **fields,
    }  # fmt: skip
    return OutboundMessage(f"{NAME}/{camera}/detection", json.dumps(body).encode())


def test_the_fixture_camera_family_declares_the_camera_capabilities_alone() -> None:
    fixture = family(NAME)
    assert "tests/fixtures/families" in str(fixture.folder)
    assert fixture.provides == {Capability.CAMERA_DETECTIONS, Capability.PERSONAL_IMAGES}
    assert fixture in providing(Capability.CAMERA_DETECTIONS) and fixture.personal_images
    assert not fixture.migrations.is_dir()  # its tables are the capability's


def test_a_second_camera_family_gets_incidents_privacy_copies_masks_and_retention(
    stack, ingest, api, issue_token, db, uid
) -> None:
    camera = f"vg{uid}"
    # provisioned as a device maker would be: over the admin API; its secret kept in the session's keyring
    DeviceKeyring(stack, ApiProvisioner(api)).ensure({camera: NAME})
    # the family's copy of the capability's default alert rule (it ships none of its own), scoped to this
    # test's camera (as `tlab alerts` loads the packs: services/alerts/packs.py)
    assert family_pack(family(NAME)) == []
    (rule,) = [r for r in capability_pack(Capability.CAMERA_DETECTIONS) if r.scope.family == NAME]
    mine = rule.model_copy(update={"name": f"{rule.name}-{uid}", "scope": rule.scope.model_copy(
        update={"devices": [camera]})})  # fmt: skip
    save_pack(db, [mine], source="test")
    masks = api.put(f"/v1/devices/{camera}/privacy-masks", json={"polygons": [[list(p) for p in WINDOW]]})
    assert masks.status_code == 200, masks.text

    couch, person = f"couch-{uid}", f"person-{uid}"
    publish_all(
        stack,
        [
            # a person who came just before the couch and is still there (context, blurred in the copies)
            detection(camera, person, "person", PERSON, first_seen_ago=650, still=False),
            detection(camera, couch, "couch", COUCH, first_seen_ago=600, still=True, image=True),
            # a detection the contract refuses (a confidence as a fraction): a dead letter of the family
            detection(camera, couch, "couch", COUCH, first_seen_ago=600, still=True, confidence_pct=0.88),
        ],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 2, what="events")
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", camera) == 1, what="letter")
    letter = db.execute("SELECT family, reason_code FROM dead_letters WHERE device_id = %s", (camera,)).fetchone()
    assert letter == {"family": NAME, "reason_code": "invalid_field"}
    frame = street(int(uid[:5], 16) * 64 + 90)
    snapshot = OutboundMessage(
        f"{NAME}/{camera}/snapshot/{couch}",
        jpeg(frame),
        user_properties=(("at_ms", str(int(time.time() * 1000) - 1000)),),
    )
    publish_all(stack, [snapshot])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)
    original_sha = db.execute("SELECT media_sha256 FROM camera_snapshots WHERE device_id = %s", (camera,)).fetchone()[
        "media_sha256"
    ]

    # the mask set over the API was applied by ingest before the image was stored: the window is black
    original = stored(stack, original_sha)
    assert original.shape[:2] == (FRAME[1], FRAME[0])
    assert original[25:155, 25:225].max() < 16 and frame[25:155, 25:225].min() > 30
    assert db.execute("SELECT personal FROM media WHERE sha256 = %s", (original_sha,)).fetchone()["personal"]

    # the incidents worker's pass: the couch, still for ten minutes, is a suspected dumping; the person is context
    with connect(stack.database_url) as conn:
        IncidentWorker(stack).work_once(conn)
    (incident,) = db.execute(
        "SELECT id, key, state, tracks, context FROM incidents WHERE device_id = %s", (camera,)
    ).fetchall()
    assert (incident["key"], incident["state"], incident["context"]) == (couch, "suspected", [person])
    event = db.execute(
        "SELECT family, device_id FROM domain_events WHERE type = 'dumping_suspected' AND key = %s",
        (f"incident:{incident['id']}",),
    ).fetchone()
    assert event == {"family": NAME, "device_id": camera}  # the camera's family, from the registry of devices
    # ...so the capability's rule routes it: the cleanliness service is alerted (the alerts worker's pass)
    with connect(stack.database_url) as conn:
        AlertEvaluator(stack).evaluate_events(conn)
    alert = db.execute(
        "SELECT state, service, rule_name FROM alerts WHERE subject = %s",
        (f"dumping_suspected:incident:{incident['id']}",),
    ).fetchall()
    assert [(a["state"], a["service"]) for a in alert] == [("firing", "cleanliness")]
    assert alert[0]["rule_name"] == f"camera-dumping-suspected@{NAME}-{uid}"  # the capability's, the family's copy

    # the evidence worker's pass: the privacy copy
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0)
        while worker.copy_once(conn):
            pass
    copy_sha = db.execute(
        "SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (original_sha,)
    ).fetchone()["copy_sha256"]
    assert copy_sha

    as_role = lambda role: {"Authorization": f"Bearer {issue_token(role, name=f'{role}-{uid}')}"}  # noqa: E731
    police, cleanliness = as_role("police"), as_role("cleanliness")
    path = f"/v1/incidents/{incident['id']}"
    seen = api.get(path, headers=cleanliness)
    assert seen.status_code == 200, seen.text
    by_id = {e["event_id"]: e for e in seen.json()["events"]}
    assert by_id[couch]["role"] == "object" and by_id[person]["role"] == "context"
    (evidence,) = by_id[couch]["evidence"]
    assert evidence["privacy"] == "ready" and evidence["original_url"] is None
    served = api.get(evidence["url"], headers=cleanliness)
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == copy_sha
    copy = cv2.imdecode(np.frombuffer(served.content, np.uint8), cv2.IMREAD_COLOR)
    assert copy is not None and copy.shape == original.shape

    # the copy: the person blurred, the mask still black, nothing else changed
    changed = np.any(copy != original, axis=2)
    px1, py1, px2, py2 = PERSON
    assert changed[py1:py2, px1:px2].mean() > 0.5, "the person is not blurred"
    assert copy[25:155, 25:225].max() < 16, "the masked window shows in the copy"
    pad_x, pad_y = (px2 - px1) // 10 + 1, (py2 - py1) // 10 + 1
    changed[py1 - pad_y : py2 + pad_y, px1 - pad_x : px2 + pad_x] = False
    changed[black_out(np.full_like(original, 255), [WINDOW]).max(axis=2) == 0] = False
    assert not changed.any(), "the copy differs outside the person's box and the mask"

    # the camera capability's routes serve every camera family's events, the snapshot as its privacy copy
    listed = api.get("/v1/camera-events", params={"device_id": camera}, headers=cleanliness)
    assert listed.status_code == 200, listed.text
    assert couch in {e["event_id"] for e in listed.json()["items"]}
    detail = api.get(f"/v1/camera-events/{couch}", headers=cleanliness).json()
    assert detail["source"] == "vigie" and [s["media_url"] for s in detail["snapshots"]] == [f"/v1/media/{copy_sha}"]

    # the original: refused to cleanliness (the copy's address in the answer), served to police via the incident
    refused = api.get(f"/v1/media/{original_sha}", headers=cleanliness)
    assert refused.status_code == 403 and copy_sha in refused.json()["detail"]
    original_url = {e["event_id"]: e for e in api.get(path, headers=police).json()["events"]}[couch]["evidence"][0][
        "original_url"
    ]
    assert original_url == f"{path}/evidence/{original_sha}"
    assert api.get(original_url, headers=cleanliness).status_code == 403
    shown = api.get(original_url, headers=police)
    assert shown.status_code == 200 and hashlib.sha256(shown.content).hexdigest() == original_sha

    # retention: past the period, its events, snapshots, copies, files and dead letters go; the incident stays
    store = MediaStore(stack.media_path)
    assert store.open(original_sha) and store.open(copy_sha)
    later = db.execute("SELECT now() + interval '31 days' AS t").fetchone()["t"]
    with connect(stack.database_url) as conn:
        purge(conn, store, later - timedelta(days=2), 30)  # 29 days on: not yet
        assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 2
        report = purge(conn, store, later, 30)
    assert report.events >= 2 and report.snapshots >= 1 and report.copies >= 1 and report.dead_letters >= 1
    for table in ("camera_events", "camera_snapshots", "dead_letters"):
        assert count(db, f"SELECT count(*) FROM {table} WHERE device_id = %s", camera) == 0, table
    assert count(db, "SELECT count(*) FROM evidence_copies WHERE original_sha256 = %s", original_sha) == 0
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = ANY(%s)", [original_sha, copy_sha]) == 0
    assert not store.open(original_sha) and not store.open(copy_sha)
    detail = api.get(path, headers=cleanliness).json()
    assert detail["evidence_purged_at"] is not None and detail["events"] == []


def test_a_camera_unmapped_from_its_gateway_has_its_retained_snapshots_cleared_under_its_family(
    stack, ingest, db, uid
) -> None:
    """The database's triggers (migration camera_detections_0009) name a gateway's retained label snapshots
    under the gateway's own family: a label snapshot of this family's gateway that was dead-lettered (the
    broker keeps it retained) is queued for deletion from the broker when its camera is unmapped."""
    gateway, camera = f"vgw{uid}", f"vgc{uid}"
    keyring(stack).ensure({gateway: NAME, camera: NAME})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera)
    topic = f"{NAME}/{gateway}/rue_des_fleurs/couch/snapshot"  # the capability's label snapshot shape
    publish_all(stack, [OutboundMessage(topic, jpeg(street(int(uid[:5], 16) * 64 + 91)))], injector=True)
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters WHERE topic = %s", topic) == 1, what="letter")
    assert db.execute("SELECT family, device_id FROM dead_letters WHERE topic = %s", (topic,)).fetchone() == {
        "family": NAME,
        "device_id": gateway,
    }
    try:
        with connect(stack.database_url) as conn:
            assert unmap_camera(conn, gateway, "rue_des_fleurs")
        assert count(db, "SELECT count(*) FROM retained_clears WHERE topic = %s", topic) == 1
    finally:
        db.execute("DELETE FROM retained_clears WHERE topic = %s", (topic,))
