"""A Frigate server as a gateway, through the real broker and ingest (docs/incidents.md, issue 12 item 1).

The gateway logs in as itself (a registered karroad device), with Frigate's `topic_prefix` set to
`karroad/<gateway id>`; its events name cameras by Frigate's camera names, which the registry maps to
registered cameras. A camera it does not own is dead-lettered; the broker keeps it to its prefix."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.db import connect
from core.gateways import GatewayError, map_camera
from services.evidence.worker import EvidenceWorker
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import device_publisher, keyring, publish_all

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parents[1] / "fixtures" / "frigate"
SNAPSHOT_CASE = Path(__file__).parents[2] / "device_adapters" / "karroad" / "testdata" / "valid_frigate_snapshot"


def frigate_messages(gateway: str, camera_name: str, object_id: str) -> list[OutboundMessage]:
    """Frigate's sequence for one object (samples built from its source), with this test's ids and times
    near now: a first state still taken for a false positive, then `new`, an update, and the end."""
    end = json.loads((SAMPLES / "events_end.json").read_text())
    new = json.loads((SAMPLES / "events_new_after_false_positive.json").read_text())
    shift = end["after"]["end_time"] - (time.time() - 5)  # the object ended 5 s ago
    out = []
    for message in (new, new, end):
        for state in (message["before"], message["after"]):
            state.update(id=object_id, camera=camera_name)
            for key in ("frame_time", "start_time", "end_time"):
                if state.get(key):
                    state[key] -= shift
        out.append(OutboundMessage(f"karroad/{gateway}/events", json.dumps(message).encode()))
    out[1] = OutboundMessage(out[1].topic, out[1].payload.replace(b'"type": "new"', b'"type": "update"'))
    return out


def test_a_frigate_gateway_speaks_for_its_mapped_cameras_only(stack, ingest, api, db, uid) -> None:
    gateway, camera, stranger = f"frigate{uid}", f"cam{uid}", f"other{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad", stranger: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera, (1280, 720))
        with pytest.raises(GatewayError, match="already behind"):
            map_camera(conn, gateway, "other_name", camera)  # a camera is behind one gateway, one name
    object_id = f"1795420861.204518-{uid[:6]}"
    publish_all(stack, frigate_messages(gateway, "rue_des_fleurs", object_id))
    # Frigate's snapshot of the camera's couch, retained as Frigate publishes it (twice: the same bytes)
    jpeg = (SNAPSHOT_CASE / "payload.jpg").read_bytes()
    snapshot = OutboundMessage(f"karroad/{gateway}/rue_des_fleurs/couch/snapshot", jpeg, retain=True)
    publish_all(stack, [snapshot, snapshot])
    unmapped = frigate_messages(gateway, "jardin_prive", f"1795420999.000001-{uid[:6]}")[2]
    publish_all(stack, [unmapped, OutboundMessage(f"karroad/{gateway}/available", b"online")])

    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s AND event_type = 'end'", object_id),
        what="the object's end stored",
    )
    row = db.execute(
        "SELECT device_id, gateway_id, source, label, false_positive, stationary, zone, entered_zones, end_time "
        "FROM camera_events WHERE event_id = %s",
        (object_id,),
    ).fetchone()
    assert row["device_id"] == camera and row["gateway_id"] == gateway and row["source"] == "frigate"
    assert (row["label"], row["false_positive"], row["stationary"]) == ("couch", False, True)
    assert row["zone"] == "collection_point" and row["entered_zones"] == ["collection_point"]
    assert row["end_time"] is not None

    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera),
        what="Frigate's snapshot stored for the camera",
    )
    (pending,) = api.get(f"/v1/camera-events/{object_id}").json()["snapshots"]  # retained, sent twice: one
    assert pending["privacy"] == "pending" and pending["media_url"] is None  # nobody sees it before its copy
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0)
        while worker.copy_once(conn):  # one image per camera per batch
            pass
    (snap,) = api.get(f"/v1/camera-events/{object_id}").json()["snapshots"]
    assert snap["privacy"] == "ready"
    copy = cv2.imdecode(np.frombuffer(api.get(snap["media_url"]).content, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(copy, original)  # a couch, no person, vehicle, face or plate: nothing to blur

    wait_for(
        lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", gateway) >= 1,
        what="the unmapped camera's dead letter",
    )
    letter = db.execute(
        "SELECT reason_code, reason FROM dead_letters WHERE device_id = %s ORDER BY id DESC LIMIT 1", (gateway,)
    ).fetchone()
    assert letter["reason_code"] == "unknown_camera" and "jardin_prive" in letter["reason"]
    assert (
        count(
            db,
            "SELECT count(*) FROM dead_letters WHERE reason_code = 'retained_not_allowed' AND device_id = %s",
            gateway,
        )
        == 0
    )
    assert "tlab devices map-camera" in letter["reason"]
    assert count(db, "SELECT count(*) FROM camera_events WHERE event_id LIKE %s", "1795420999.000001-%") == 0
    wait_for(
        lambda: db.execute("SELECT online FROM devices WHERE device_id = %s", (gateway,)).fetchone()["online"],
        what="Frigate's availability as the gateway's status",
    )

    # the broker keeps the gateway to its own prefix: not another camera's topics, not another root
    publisher = device_publisher(stack, gateway, "karroad")
    try:
        for topic in (f"karroad/{stranger}/events", f"ptipot/{gateway}/readings", f"frigate/{gateway}/events"):
            assert publisher.publish(OutboundMessage(topic, frigate_messages(gateway, "x", "1.0-x")[2].payload))
        assert publisher.flush(10)
    finally:
        publisher.close()
    assert publisher.counts.failed == 3, publisher.counts  # PUBACK 135 "Not authorized" for each
    assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", stranger) == 0


def test_a_revoked_camera_does_not_speak_through_its_gateway(stack, ingest, db, uid) -> None:
    """Issue 19 item 6: after `devices revoke` of a camera, its gateway's events about it were still stored.
    The camera a gateway's message names is checked like a device that publishes itself: revoked ->
    `revoked_device`, nothing stored; the gateway's other cameras are unaffected."""
    from core.device_registry import revoke

    gateway, camera, other = f"frigate{uid}", f"cam{uid}", f"cam2{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad", other: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_revoquee", camera, (1280, 720))
        map_camera(conn, gateway, "rue_active", other, (1280, 720))
        revoke(conn, camera)
    revoked_id, active_id = f"1795420861.1-{uid[:6]}", f"1795420861.2-{uid[:6]}"
    publish_all(
        stack,
        [*frigate_messages(gateway, "rue_revoquee", revoked_id), *frigate_messages(gateway, "rue_active", active_id)],
    )
    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s AND event_type = 'end'", active_id),
        what="the active camera's object stored",
    )
    letters = wait_for(
        lambda: db.execute(
            "SELECT reason_code, reason, device_id FROM dead_letters WHERE reason_code = 'revoked_device' "
            "AND reason LIKE %s",
            (f"%{camera}%",),
        ).fetchall(),
        what="the revoked camera's dead letters",
    )
    assert all(gateway in letter["reason"] for letter in letters)
    assert count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s", revoked_id) == 0
    assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 0
