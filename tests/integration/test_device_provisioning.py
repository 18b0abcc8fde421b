"""Device credentials from the registry, enforced by the real broker: a device publishes only as itself,
reads only its own downlink; revoked or rotated-away credentials are refused; the broker reloads
without a restart."""

from __future__ import annotations

import json
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sim.credentials import broker_answer, wait_until_accepted
from sim.publisher import CountingPublisher, OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import mount_seen_by_devices

pytestmark = pytest.mark.integration


def publisher(stack, username: str, password: str) -> CountingPublisher:
    pub = CountingPublisher(
        stack.mqtt_host, stack.mqtt_port, f"{username}-{uuid.uuid4().hex[:6]}", credentials=(username, password)
    )
    pub.connect(timeout=10)
    return pub


def reading(device: str, second: int) -> OutboundMessage:
    body = {"ts": f"2026-11-28T10:00:{second:02d}Z", "soil_vwc_pct": 20.0}
    return OutboundMessage(f"ptipot/{device}/readings", json.dumps(body).encode())


@pytest.fixture
def devices(stack, api, uid):
    made = {}
    for name in ("a", "b"):
        response = api.post(
            "/v1/devices",
            json={"device_id": f"{name}{uid}", "family": "ptipot", "pilot": "Ptipot'", "location": "Jardin test"},
        )
        assert response.status_code == 201, response.text
        made[name] = response.json()
    for device in made.values():  # the broker files' owner rewrites them when the registry notifies it
        wait_until_accepted(stack, device["mqtt_username"], device["mqtt_password"])
    return made


def refused(stack, username: str, password: str) -> bool:
    return broker_answer(stack, username, password) != "Success"


def test_a_device_publishes_as_itself_and_not_as_another(stack, ingest, db, devices) -> None:
    a, b = devices["a"], devices["b"]
    pub = publisher(stack, a["mqtt_username"], a["mqtt_password"])
    try:
        assert pub.publish(reading(a["device_id"], 1))
        assert pub.publish(reading(b["device_id"], 2))  # taken by paho; the broker must refuse it
        assert pub.flush(10)
    finally:
        pub.close()
    assert pub.counts.acked == 1 and pub.counts.failed == 1, pub.counts  # PUBACK 135 "Not authorized"
    wait_for(
        lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", a["device_id"]) == 1,
        what="A's own reading",
    )
    assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", b["device_id"]) == 0


def test_a_device_reads_only_its_own_downlink(stack, devices) -> None:
    """Mosquitto 2.0 grants the subscription and enforces read ACLs at delivery: check what arrives."""
    a, b = devices["a"], devices["b"]
    received: list[str] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    client.username_pw_set(a["mqtt_username"], a["mqtt_password"])
    client.on_message = lambda _c, _u, msg: received.append(msg.topic)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe(
        [(f"ptipot/{a['device_id']}/downlink/#", 1), (f"ptipot/{b['device_id']}/downlink/#", 1)]
    )
    client.connect(stack.mqtt_host, stack.mqtt_port)
    client.loop_start()
    try:
        assert subscribed.wait(10)
        # downlinks are the platform's to send: its service account, on its own listener, under the mount point
        sender = CountingPublisher(
            stack.mqtt_host,
            stack.mqtt_service_port,
            f"downlink-{uuid.uuid4().hex[:6]}",
            credentials=stack.mqtt_credentials(),
        )
        sender.connect()
        mount = stack.mqtt_device_mount
        for device in (b["device_id"], a["device_id"]):  # B's first: if it were delivered, it would be first
            assert sender.publish(OutboundMessage(f"{mount}ptipot/{device}/downlink/config", b'{"interval_s": 60}'))
        assert sender.flush(10)
        sender.close()
        wait_for(lambda: received, what="A's own downlink message")
        time_to_leak = threading.Event()
        time_to_leak.wait(0.5)
    finally:
        client.disconnect()
        client.loop_stop()
    assert received == [f"{mount_seen_by_devices(stack)}ptipot/{a['device_id']}/downlink/config"]


def test_revoked_and_rotated_credentials_are_refused(stack, api, devices) -> None:
    a, b = devices["a"], devices["b"]
    connected = publisher(stack, a["mqtt_username"], a["mqtt_password"])
    dropped = threading.Event()
    connected.client.on_disconnect = lambda *_: dropped.set()
    try:
        assert api.delete(f"/v1/devices/{a['device_id']}/credentials").status_code == 204
        # Mosquitto re-checks connected clients when it reloads the password file: A is dropped at once
        assert dropped.wait(10), "a connected device kept its connection after being revoked"
    finally:
        connected.client.loop_stop()
    assert refused(stack, a["mqtt_username"], a["mqtt_password"])
    with pytest.raises(ConnectionRefusedError):
        publisher(stack, a["mqtt_username"], a["mqtt_password"])

    rotated = api.post(f"/v1/devices/{b['device_id']}/credentials")
    assert rotated.status_code == 200
    wait_until_accepted(stack, b["mqtt_username"], rotated.json()["mqtt_password"])
    with pytest.raises(ConnectionRefusedError):
        publisher(stack, b["mqtt_username"], b["mqtt_password"])
    publisher(stack, b["mqtt_username"], rotated.json()["mqtt_password"]).close()

    with pytest.raises(ConnectionRefusedError):
        publisher(stack, b["mqtt_username"], "guessed-password")
    assert api.post("/v1/devices", json={"device_id": b["device_id"], "family": "ptipot"}).status_code == 409


def test_secrets_are_stored_as_mosquitto_hashes_only(stack, db, devices) -> None:
    b = devices["b"]
    row = db.execute(
        "SELECT mqtt_password_hash, location FROM devices WHERE device_id = %s", (b["device_id"],)
    ).fetchone()
    assert row["mqtt_password_hash"].startswith("$7$101$") and b["mqtt_password"] not in row["mqtt_password_hash"]
    assert row["location"] == "Jardin test"
    passwd = (stack.state_dir / "mosquitto" / "passwd-devices").read_text()
    assert f"{b['device_id']}:{row['mqtt_password_hash']}" in passwd and b["mqtt_password"] not in passwd
