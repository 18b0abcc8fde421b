"""Regression tests for issue 8: what a hostile or buggy device sent that stopped, stalled or blinded
ingest. Each test publishes the offending message through the real broker, then a good message, and
checks that the good one is stored, the bad one dead-lettered once with a reason, and the worker alive.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.db import connect
from services.evidence.worker import EvidenceWorker
from sim.publisher import CountingPublisher, OutboundMessage
from tests.conftest import RunningWorker, count, wait_for
from tests.integration.helpers import device_publisher, garden, keyring, publish_all, readings

pytestmark = pytest.mark.integration


def _stored(db, device: str) -> int:
    return count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device)


def _letters(db, device: str) -> list[dict]:
    return db.execute(
        "SELECT reason_code, reason, topic, octet_length(payload) AS kept, payload_size, payload_sha256 "
        "FROM dead_letters WHERE device_id = %s ORDER BY id",
        (device,),
    ).fetchall()


def _healthy_after(stack, db, worker: RunningWorker, device: str, ts: str = "2026-11-29T04:02:00Z") -> None:
    """The worker is alive and stores the next good message."""
    before = _stored(db, device)
    publish_all(stack, [garden(device, ts)])
    wait_for(lambda: _stored(db, device) == before + 1, what="the next good reading")
    assert worker.thread.is_alive()
    assert worker.worker.metrics.health().healthy


def test_nul_in_a_json_key_is_dead_lettered_not_a_crash_loop(stack, ingest, db, uid):
    """Defect 1: the NUL in the key reached the reason text, PostgreSQL refused the dead letter and the
    worker died, again at every restart."""
    device = f"g{uid}"
    poison = OutboundMessage(
        f"ptipot/{device}/readings", b'{"ts":"2026-11-29T04:01:00Z","soil_vwc_pct":12,"a\\u0000b":1}'
    )
    publish_all(stack, [poison, garden(device, "2026-11-29T04:01:01Z")])
    wait_for(lambda: _stored(db, device) == 1, what="the good reading after the poison one")
    [letter] = _letters(db, device)
    assert letter["reason_code"] == "invalid_field"
    assert "\x00" not in letter["reason"] and "a\\x00b" in letter["reason"]
    _healthy_after(stack, db, ingest, device)


def test_a_topic_too_long_for_the_index_is_dead_lettered_not_a_stall(stack, ingest, db, uid):
    """Defect 2: over ~2.7 KB the topic did not fit the dead-letter unique index; 'program limit
    exceeded' was taken for an outage and the worker retried forever."""
    device = f"g{uid}"
    keyring(stack).ensure({device: "ptipot"})
    topic = f"ptipot/{device}/x/" + secrets.token_hex(1500)  # incompressible: the index cannot shrink it
    publish_all(stack, [OutboundMessage(topic, b"x")], injector=True)
    letter = wait_for(lambda: _letters(db, device), what="the long topic's dead letter")[0]
    assert letter["reason_code"] == "unknown_topic"
    assert len(letter["topic"]) <= 1024 and letter["topic"].startswith(topic[:1000])
    assert ingest.worker.stats.db_errors == 0
    _healthy_after(stack, db, ingest, device)


def test_a_refused_first_batch_does_not_poison_the_connection(stack, db, uid):
    """Defect 3: the staging tables were created inside the first batch's transaction; when it rolled
    back they were gone but remembered, and every later reading was dead-lettered."""
    camera, device = f"c{uid}", f"g{uid}"
    event = {
        "type": "new",
        "ts": "2026-11-29T04:00:00Z",
        "event_id": f"e{uid}",
        "label": "person",
        "score": 0.9,
        "box": [1, 2, 30, 40],
        "zone": "rue\u0000",
        "start_time": "2026-11-29T04:00:00Z",
        "end_time": None,
        "stationary": False,
        "has_snapshot": False,
    }
    fresh = RunningWorker(stack, ingest_client_id=f"test-fresh-{uid}").start()  # a new database connection
    try:
        publish_all(stack, [OutboundMessage(f"karroad/{camera}/events", json.dumps(event).encode())])
        wait_for(lambda: _letters(db, camera), what="the NUL zone's dead letter")
        publish_all(stack, [garden(device, "2026-11-29T04:01:00Z")])
        wait_for(lambda: _stored(db, device) == 1, what="a reading after the refused batch")
        assert _letters(db, device) == []
    finally:
        fresh.stop()


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims another size: a decompression bomb."""
    ok, encoded = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_a_jpeg_claiming_16000x16000_is_refused_without_decoding(stack, ingest, db, uid):
    """Defect 6: a 600-byte JPEG whose header says 16000x16000 was decoded (GBs) and stored."""
    drone = f"d{uid}"
    bomb = _jpeg_claiming(16000, 16000)
    assert len(bomb) < 1000
    props = (("mission_id", f"m{uid}"), ("ts", "2026-11-29T04:00:00Z"), ("chainage_m", "1.5"))
    publish_all(stack, [OutboundMessage(f"bathy/{drone}/frame", bomb, props)])
    [letter] = wait_for(lambda: _letters(db, drone), what="the bomb's dead letter")
    assert letter["reason_code"] == "image_too_large"
    assert "16000x16000" in letter["reason"]
    assert count(db, "SELECT count(*) FROM drone_frames WHERE device_id = %s", drone) == 0


def test_a_refused_payload_is_kept_as_a_bounded_prefix_with_its_size_and_hash(stack, ingest, db, api, uid):
    """Defect 7: a 31 MB refused payload was stored whole, and its detail route inflated it to 43 MB of JSON."""
    device = f"g{uid}"
    payload = b'{"ts": "2026-11-29T04:00:00Z", "note": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    publish_all(stack, [OutboundMessage(f"ptipot/{device}/readings", payload)])
    [letter] = wait_for(lambda: _letters(db, device), what="the big payload's dead letter")
    assert letter["payload_size"] == len(payload)
    assert letter["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert letter["kept"] <= stack.dead_letter_keep_bytes < len(payload)
    letter_id = db.execute("SELECT id FROM dead_letters WHERE device_id = %s", (device,)).fetchone()["id"]
    detail = api.get(f"/v1/dead-letters/{letter_id}")
    assert detail.status_code == 200 and len(detail.content) < 16 * 1024
    assert detail.json()["payload_truncated"] is True
    raw = api.get(f"/v1/dead-letters/{letter_id}/payload")
    assert raw.content == payload[: letter["kept"]]


# ---- the broker: identities, subscriptions, retained copies, sizes ---------------------------------
def _device_client(stack, device_id: str, secret: str, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(device_id, secret)
    return client


def _connect(client: mqtt.Client, stack, port: int | None = None) -> str:
    """Connect and return the broker's answer ('Success', 'Not authorized', ...)."""
    answer: list[str] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: answer.append(str(rc))
    client.connect(stack.mqtt_host, port or stack.mqtt_port, keepalive=10)
    client.loop_start()
    wait_for(lambda: answer, timeout=10, what="CONNACK")
    return answer[0]


def test_a_device_cannot_take_over_another_client_id(stack, db, uid):
    """Defect 4: device A connecting with B's client id (or ingest's) dropped B (or ingest)."""
    a, b = f"a{uid}", f"b{uid}"
    secrets_ = keyring(stack).ensure({a: "ptipot", b: "ptipot"})
    victim = _device_client(stack, b, secrets_[b], client_id=b)
    dropped: list[str] = []
    assert _connect(victim, stack) == "Success"
    victim.on_disconnect = lambda *args: dropped.append(str(args[3]))
    running = RunningWorker(stack, ingest_client_id=f"tlab-ingest-{uid}").start()
    try:
        for stolen in (b, f"tlab-ingest-{uid}"):
            thief = _device_client(stack, a, secrets_[a], client_id=stolen)
            assert _connect(thief, stack) == "Success"  # logged in, but as itself: client id = username
            thief.disconnect()
            thief.loop_stop()
        time.sleep(0.5)
        assert dropped == [], "the victim device was disconnected"
        assert running.worker.consumer.generation == 1, "ingest was disconnected"
        assert victim.is_connected()
    finally:
        victim.disconnect()
        victim.loop_stop()
        running.stop()


def test_devices_cannot_log_in_on_the_platform_listener(stack, uid):
    device = f"g{uid}"
    secret = keyring(stack).ensure({device: "ptipot"})[device]
    client = _device_client(stack, device, secret, client_id=device)
    try:
        assert _connect(client, stack, port=stack.mqtt_service_port) != "Success"
    finally:
        client.loop_stop()


def test_a_device_in_the_ingest_share_group_steals_nothing(stack, db, uid):
    """Defect 5: a device subscribed to $share/<ingest group>/ptipot/# got its share of every device's
    messages, which the ACL then refused to deliver: 40 published, 20 stored."""
    group, spy, device = f"grp{uid}", f"s{uid}", f"g{uid}"
    secret = keyring(stack).ensure({spy: "ptipot"})[spy]
    received: list[str] = []
    client = _device_client(stack, spy, secret, client_id=spy)
    client.on_message = lambda _c, _u, msg: received.append(msg.topic)
    assert _connect(client, stack) == "Success"
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    client.subscribe(f"$share/{group}/ptipot/#", qos=1)
    assert subscribed.wait(10)
    running = RunningWorker(stack, ingest_client_id=f"test-share-{uid}", ingest_share_group=group).start()
    try:
        publish_all(stack, readings(device, 40))
        wait_for(lambda: _stored(db, device) == 40, what="all 40 readings")
        assert received == []
    finally:
        client.disconnect()
        client.loop_stop()
        running.stop()


def test_retained_data_is_refused_and_its_copy_deleted(stack, ingest, db, uid):
    """Defect 7: a device could keep any number of retained messages on the broker."""
    device = f"g{uid}"
    retained = OutboundMessage(f"ptipot/{device}/readings", b'{"ts":"2026-11-29T04:00:00Z","rain_mm":1}', retain=True)
    status = OutboundMessage(f"ptipot/{device}/status", b"online", retain=True)
    publish_all(stack, [retained, status])
    [letter] = wait_for(lambda: _letters(db, device), what="the retained reading's dead letter")
    assert letter["reason_code"] == "retained_not_allowed"
    wait_for(lambda: db.execute("SELECT online FROM devices WHERE device_id = %s", (device,)).fetchone()["online"])
    # a new subscriber gets the retained status, and no retained reading
    seen: dict[str, bytes] = {}
    reader = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"tlab-reader-{uid}", protocol=mqtt.MQTTv5)
    reader.username_pw_set(*stack.mqtt_credentials())
    reader.on_message = lambda _c, _u, msg: seen.__setitem__(msg.topic, msg.payload)
    assert _connect(reader, stack, port=stack.mqtt_service_port) == "Success"
    try:
        wait_for(lambda: not _retained_reading_left(reader, stack, device, seen), what="the retained copy deleted")
    finally:
        reader.disconnect()
        reader.loop_stop()
    assert seen.get(f"{stack.mqtt_device_mount}ptipot/{device}/status") == b"online"
    assert ingest.worker.stats.ignored >= 1  # its own clearing message came back and was ignored
    _healthy_after(stack, db, ingest, device)


def _retained_reading_left(reader: mqtt.Client, stack, device: str, seen: dict[str, bytes]) -> bool:
    seen.clear()
    reader.unsubscribe(f"{stack.mqtt_device_mount}ptipot/{device}/#")
    reader.subscribe(f"{stack.mqtt_device_mount}ptipot/{device}/#", qos=1)
    time.sleep(0.5)
    return f"{stack.mqtt_device_mount}ptipot/{device}/readings" in seen


def test_a_device_cannot_publish_outside_its_declared_topics(stack, ingest, db, uid):
    """Defect 13: devices could publish on their own downlink topic (and any subtopic)."""
    device = f"g{uid}"
    publisher = device_publisher(stack, device, "ptipot")
    try:
        for topic in (f"ptipot/{device}/downlink/config", f"ptipot/{device}/anything/else", f"ptipot/{device}/x"):
            assert publisher.publish(OutboundMessage(topic, b"{}"))
        assert publisher.flush(10)
    finally:
        publisher.close()
    assert publisher.counts.failed == 3, publisher.counts  # PUBACK 135 "Not authorized" for each
    _healthy_after(stack, db, ingest, device)
    assert _letters(db, device) == []


def test_the_platforms_own_downlinks_are_not_dead_lettered(stack, ingest, db, uid):
    device = f"g{uid}"
    keyring(stack).ensure({device: "ptipot"})
    before = ingest.worker.stats.ignored
    sender = CountingPublisher(
        stack.mqtt_host, stack.mqtt_service_port, f"tlab-downlink-{uid}", credentials=stack.mqtt_credentials()
    )
    sender.connect()
    try:
        assert sender.publish(OutboundMessage(f"{stack.mqtt_device_mount}ptipot/{device}/downlink/config", b"{}"))
        assert sender.flush(10)
    finally:
        sender.close()
    wait_for(lambda: ingest.worker.stats.ignored > before, what="the downlink ignored")
    assert _letters(db, device) == []


def test_a_packet_larger_than_any_contract_allows_is_refused_by_the_broker(stack, ingest, db, uid):
    device = f"g{uid}"
    publisher = device_publisher(stack, device, "ptipot")
    try:
        publisher.publish(OutboundMessage(f"ptipot/{device}/readings", b"x" * (stack.max_payload_bytes + 128 * 1024)))
        assert not publisher.flush(5)
    finally:
        publisher.close()
    assert publisher.counts.acked == 0
    assert _letters(db, device) == []


def test_platform_ids_cannot_be_provisioned(stack, api):
    response = api.post("/v1/devices", json={"device_id": "tlab-ingest-1", "family": "ptipot"})
    assert response.status_code == 409, response.text
    assert "reserved" in response.text


# ---- curious token holders -----------------------------------------------------------------------
def _jpeg(seed: int) -> bytes:
    image = np.full((48, 64, 3), seed % 256, np.uint8)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def test_media_follow_the_reader_policy_of_their_family(stack, ingest, db, api, issue_token, uid):
    """Defect 8: a sanitation token read camera snapshots; cleanliness and police read drone frames."""
    drone, camera = f"d{uid}", f"c{uid}"
    frame, snapshot = _jpeg(int(uid[:4], 16)), _jpeg(int(uid[4:], 16) + 1)
    frame_props = (("mission_id", f"m{uid}"), ("ts", "2026-11-29T04:00:00Z"), ("chainage_m", "2.5"))
    publish_all(
        stack,
        [
            OutboundMessage(f"bathy/{drone}/frame", frame, frame_props),
            OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", snapshot, (("ts", "2026-11-29T04:00:00Z"),)),
        ],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM media WHERE device_id IN (%s, %s)", drone, camera) == 2)
    urls = {
        "bathy": f"/v1/media/{hashlib.sha256(frame).hexdigest()}",
        "karroad": f"/v1/media/{hashlib.sha256(snapshot).hexdigest()}",
    }
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0)
        while worker.copy_once(conn):  # one image per camera per batch
            pass
    copy = db.execute(
        "SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (urls["karroad"].rsplit("/", 1)[1],)
    ).fetchone()["copy_sha256"]
    urls["karroad copy"] = f"/v1/media/{copy}"
    # a camera original is nobody's through /v1/media (police view it through an incident); its copy is
    # the cameras' readers'
    expected = {
        "sanitation": {"bathy": 200, "karroad": 403, "karroad copy": 403},
        "cleanliness": {"bathy": 403, "karroad": 403, "karroad copy": 200},
        "police": {"bathy": 403, "karroad": 403, "karroad copy": 200},
        "operator": {"bathy": 200, "karroad": 403, "karroad copy": 200},
    }
    for role, by_family in expected.items():
        headers = {"Authorization": f"Bearer {issue_token(role)}"}
        for family, status in by_family.items():
            assert api.get(urls[family], headers=headers).status_code == status, (role, family)


def _audit_rows(db, path: str) -> list[dict]:
    return db.execute(
        "SELECT principal, token_id, status FROM audit_log WHERE path = %s ORDER BY id", (path,)
    ).fetchall()


def test_refusals_come_before_validation_and_are_all_audited(stack, api, db, issue_token, uid):
    """Defect 11: parameter validation ran before authentication (422 instead of 401/403, not logged),
    and a revoked token's use was logged as anonymous."""
    path = "/v1/dead-letters"
    viewer = {"Authorization": f"Bearer {issue_token('viewer')}"}
    before = len(_audit_rows(db, path))
    assert api.get(path, params={"topic": "\x00", "limit": "x"}, headers=viewer).status_code == 403
    assert api.get(path, params={"topic": "\x00"}, headers={"Authorization": ""}).status_code == 401
    token = issue_token("admin", name=f"revoked-{uid}")
    token_id = int(token.split("_")[1])
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = %s", (token_id,))
    assert api.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    rows = _audit_rows(db, path)[before:]
    assert [r["status"] for r in rows] == [403, 401, 401]
    assert rows[0]["principal"] == "test" and rows[1]["principal"] == "anonymous"
    assert rows[2]["principal"] == "invalid token" and rows[2]["token_id"] == token_id
