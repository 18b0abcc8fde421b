"""Webhooks through real HTTP receivers on this machine: each delivery carries a valid Standard Webhooks
signature, a 500 is retried with the same webhook-id, every attempt is in the log, and a slow endpoint
delays neither the other one nor the evaluation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from services.alerts.mqtt_channel import MqttAlertChannel
from services.alerts.store import save_pack
from services.alerts.webhooks import WebhookDeliverer
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tests.integration.test_alerts import evaluate, frost_rule, readings
from tests.unit.test_webhook_signing import verify

pytestmark = pytest.mark.integration


class Receiver:
    """An HTTP endpoint that answers the statuses it is given, in turn, after ``delay_s``."""

    def __init__(self, statuses: list[int], delay_s: float = 0.0) -> None:
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body, "at": time.monotonic()})
                time.sleep(delay_s)
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


# The receivers of these tests listen on this machine: a deployment allows its own receiver the same way
# (TLAB_WEBHOOK_ALLOW); every other inside address is refused (test_alert_webhook_egress.py). The alert here
# fires and clears in one evaluation: sent only with no notify wait (test_alert_notify_wait.py).
LOCAL_RECEIVERS = {"webhook_allow": ["127.0.0.1/32"], "alert_notify_wait_s": 0.0}


@pytest.fixture
def local_api(stack, issue_token) -> Iterator[TestClient]:
    """The API of a deployment whose webhook receivers are on 127.0.0.1."""
    from services.api.main import create_app

    app = create_app(stack.model_copy(update=LOCAL_RECEIVERS))
    with TestClient(app, headers={"Authorization": f"Bearer {issue_token('admin')}"}) as client:
        yield client


def test_signed_retried_logged_and_a_slow_endpoint_delays_no_other(stack, ingest, local_api, db, uid) -> None:
    api = local_api
    device = f"wh{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    flaky, slow = Receiver([500, 200]), Receiver([200], delay_s=5.0)
    hooks = {}
    for name, receiver in (("flaky", flaky), ("slow", slow)):
        created = api.post("/v1/webhooks", json={"service": "green_spaces", "url": receiver.url})
        assert created.status_code == 201, created.text
        hooks[name] = created.json()
    assert api.post("/v1/webhooks", json={"service": "nobody", "url": flaky.url}).status_code == 422
    assert api.post("/v1/webhooks", json={"service": "green_spaces", "url": "ftp://x"}).status_code == 422
    assert "secret" not in api.get("/v1/webhooks").json()[0]

    stop = threading.Event()
    deliverer = WebhookDeliverer(
        stack.model_copy(update=LOCAL_RECEIVERS), refresh_s=0.2, timeout_s=1.0, max_backoff_s=0.3, poll_s=0.1
    )
    thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        publish_all(stack, readings(device, (40, 0.5), (30, 0.4), (20, 3.5)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
        started = time.monotonic()
        evaluate(stack)
        ours = lambda r: json.loads(r["body"])["alert"]["subject"] == device  # noqa: E731
        wait_for(lambda: len([r for r in flaky.received if ours(r)]) >= 3, timeout=10, what="fired (twice) and cleared")
        assert time.monotonic() - started < 5, "the fast endpoint waited for the slow one"
    finally:
        stop.set()
        thread.join(20)
        flaky.close()
        slow.close()

    deliveries = [r for r in flaky.received if ours(r)]
    first, retry, cleared = deliveries[:3]
    assert first["headers"]["webhook-id"] == retry["headers"]["webhook-id"] != cleared["headers"]["webhook-id"]
    assert [json.loads(d["body"])["type"] for d in (first, retry, cleared)] == ["alert.fired"] * 2 + ["alert.cleared"]
    for d in deliveries:
        h = d["headers"]
        assert verify(
            hooks["flaky"]["secret"], h["webhook-id"], h["webhook-timestamp"], d["body"], h["webhook-signature"]
        )
        assert not verify(
            hooks["slow"]["secret"], h["webhook-id"], h["webhook-timestamp"], d["body"], h["webhook-signature"]
        )
    log = api.get(f"/v1/webhooks/{hooks['flaky']['id']}/deliveries").json()["items"]
    attempts = [
        (e["attempt"], e["status"], e["outcome"])
        for e in reversed(log)
        if e["message_id"] == first["headers"]["webhook-id"]
    ]
    assert attempts == [(1, 500, "retrying"), (2, 200, "delivered")]
    slow_log = api.get(f"/v1/webhooks/{hooks['slow']['id']}/deliveries").json()["items"]
    assert slow_log and all(e["status"] is None and "Timeout" in e["error"] for e in slow_log)
    for hook in hooks.values():
        assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{hooks['slow']['id']}/deliveries").status_code == 404


class AlertDisplay:
    """An on-site display: a service account that may only read ``tlab/alerts/#``, subscribed, keeping what it
    receives (topic, JSON body) in order."""

    def __init__(self, stack, uid: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from core.broker_credentials import BrokerCredentials
        from core.db import connect

        files = BrokerCredentials(stack)
        secret = files.add_service_account(f"tlab-display-{uid}", ["topic read tlab/alerts/#"])
        with connect(stack.database_url) as conn:
            files.write(conn)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"tlab-display-{uid}", protocol=mqtt.MQTTv5)
        client.username_pw_set(f"tlab-display-{uid}", secret)
        self.received: list[tuple[str, dict]] = []
        subscribed = threading.Event()
        client.on_message = lambda _c, _u, m: self.received.append((m.topic, json.loads(m.payload)))
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_connect = lambda c, *_: c.subscribe("tlab/alerts/#", qos=1)
        deadline = time.monotonic() + 10
        while True:  # the broker takes the new account at its reload (SIGHUP, asynchronous)
            try:
                client.connect(stack.mqtt_host, stack.mqtt_service_port)
                client.loop_start()
                if subscribed.wait(2):
                    break
            except OSError:
                pass
            client.loop_stop()
            assert time.monotonic() < deadline, "the display account was not accepted"
        self.client = client

    def of(self, subject: str) -> list[tuple[str, dict]]:
        return [(t, b) for t, b in list(self.received) if b["alert"]["subject"] == subject]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_alert_events_reach_an_on_site_display_over_mqtt_and_devices_cannot_fake_them(stack, ingest, db, uid) -> None:
    from device_adapters.contract import OutboundMessage
    from tests.integration.helpers import device_publisher

    display = AlertDisplay(stack, uid)
    device = f"mq{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    stop = threading.Event()
    channel = MqttAlertChannel(
        stack.model_copy(update=LOCAL_RECEIVERS), poll_s=0.1, client_id=f"tlab-alerts-mqtt-{uid}"
    )
    thread = threading.Thread(target=channel.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM alert_channels WHERE name = 'mqtt'") == 1, what="cursor")
        publish_all(stack, readings(device, (40, 0.5), (30, 0.4)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
        evaluate(stack)
        ((topic, body),) = wait_for(lambda: display.of(device), timeout=10, what="the alert on MQTT")
        assert topic == "tlab/alerts/green_spaces/warning" and body["event"] == "fired"

        faker = device_publisher(stack, f"fk{uid}", "ptipot")
        assert faker.publish(OutboundMessage("tlab/alerts/green_spaces/critical", b"{}"))
        faker.flush(10)
        faker.close()
        assert faker.counts.failed == 1  # the broker refused it (PUBACK 135): not one of its family's topics
    finally:
        stop.set()
        thread.join(15)
        display.close()
