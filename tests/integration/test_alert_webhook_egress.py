"""Webhooks reach no inside address and no endpoint can pin `tlab deliveries` (issue 19, item 7).

Network rule of these tests: they send traffic only to this machine (127.0.0.1). Inside addresses elsewhere
(10.x, 169.254.x...) are only ever checked for refusal, which happens before any connection: the refusal
of a local one is shown with a listening socket that counts the connections it gets (none)."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator

import pytest

from services.alerts.egress import DestinationRefused, check_url, parse_allow
from services.alerts.mqtt_channel import MqttAlertChannel
from services.alerts.store import save_pack
from services.alerts.webhooks import Webhook, WebhookDeliverer, WebhookSender
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tests.integration.test_alert_webhooks import Receiver
from tests.integration.test_alerts import evaluate, frost_rule, readings

pytestmark = pytest.mark.integration

INSIDE = [
    "http://127.0.0.1:9108/metrics",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:15432/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT (Alibaba's metadata is in it)
    "http://[fd00:ec2::254]/",  # AWS's IPv6 metadata: unique-local
    "http://[fe80::1]/",
    "http://0.0.0.0:8080/",
    "http://224.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost:8080/",
]


class RawServer:
    """A TCP endpoint on 127.0.0.1 that counts the connections it gets and answers with ``behave``."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]) -> None:
        self.connections = 0
        self.closing = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server.connections += 1
                self.request.settimeout(1.0)
                try:
                    self.request.recv(65536)  # the request (small): enough to answer after it
                    behave(self.request, server.closing)
                except OSError:
                    pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def trickle(conn: socket.socket, closing: threading.Event) -> None:
    """The status line one byte every 0.3 s, for ever: each read answers within any per-read timeout."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
        if closing.wait(0.3):
            return
        conn.sendall(bytes([byte]))


def endless(conn: socket.socket, closing: threading.Event) -> None:
    """200 at once, then a body that never ends (a gigabyte announced, sent as fast as it is read)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
    chunk = b"x" * 65536
    while not closing.is_set():
        conn.sendall(chunk)


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    made: list[RawServer] = []
    yield made
    for s in made:
        s.close()


def test_inside_addresses_are_refused_at_registration(api) -> None:
    for url in INSIDE:
        refused = api.post("/v1/webhooks", json={"service": "police", "url": url})
        assert refused.status_code == 422, (url, refused.text)
        assert "not a webhook destination" in refused.text, url
    public = api.post("/v1/webhooks", json={"service": "police", "url": "https://8.8.8.8/hook"})
    assert public.status_code == 201, public.text  # registration connects nowhere; removed at once
    assert api.delete(f"/v1/webhooks/{public.json()['id']}").status_code == 204
    allowed = parse_allow(["127.0.0.1:9000", "10.1.2.0/24", "[::1]:9001"])
    check_url("http://127.0.0.1:9000/hook", allowed)
    check_url("http://10.1.2.7/hook", allowed)
    check_url("http://[::1]:9001/", allowed)
    for url in ("http://127.0.0.1:9108/", "http://10.1.3.1/", "http://[::1]:9002/"):
        with pytest.raises(DestinationRefused):
            check_url(url, allowed)


def test_an_inside_address_is_refused_at_connection_before_any_packet(stack, ingest, db, servers, uid) -> None:
    """A webhook stored with a name that now resolves inside (DNS rebinding; or stored before the check): the
    sender resolves, refuses and logs it without connecting (the local listener counts no connection)."""
    listener = RawServer(lambda conn, closing: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    servers.append(listener)
    device = f"eg{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    hooks = []
    for url in (f"http://localhost:{listener.port}/hook", "http://10.0.0.1/hook", "http://169.254.169.254/x"):
        row = db.execute(
            "INSERT INTO alert_webhooks (service, url, secret, created_by, delivered_through) VALUES ('green_spaces', "
            "%s, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'test', (SELECT coalesce(max(id), 0) FROM alert_outbox)) "
            "RETURNING id, service, url, secret",
            (url,),
        ).fetchone()
        hooks.append(Webhook(**row))
    publish_all(stack, readings(device, (40, 0.5), (30, 0.4)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
    evaluate(stack)
    settings = stack.model_copy(update={"alert_notify_wait_s": 0.0})
    stop = threading.Event()
    try:
        for hook in hooks:
            sender = WebhookSender(settings, hook, max_attempts=1, poll_s=0.05)
            threading.Thread(target=sender.run, args=(stop,), daemon=True).start()
        for hook in hooks:
            logged = wait_for(lambda h=hook: db.execute(
                "SELECT status, error, outcome FROM alert_webhook_deliveries WHERE webhook_id = %s", (h.id,)
            ).fetchall(), what=f"the attempt to {hook.url}")  # fmt: skip
            assert logged[0]["status"] is None and "not a webhook destination" in logged[0]["error"], logged
    finally:
        stop.set()
        db.execute("DELETE FROM alert_webhooks WHERE id = ANY(%s)", ([h.id for h in hooks],))
    assert listener.connections == 0


def test_a_trickling_or_endless_answer_pins_neither_the_sender_nor_others_nor_mqtt(
    stack, ingest, api, db, servers, uid
) -> None:
    """Endpoints on this machine, allow-listed: one trickles its status line, one sends a body without end;
    each attempt ends within its total time, the endless one counts as delivered (its 200) without its body
    being read, and a plain endpoint and the MQTT channel get the events meanwhile."""
    slow, huge = RawServer(trickle), RawServer(endless)
    servers.extend([slow, huge])
    plain = Receiver([200])
    settings = stack.model_copy(update={"webhook_allow": ["127.0.0.1/32"], "alert_notify_wait_s": 0.0})
    device = f"tr{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    urls = {"slow": f"http://127.0.0.1:{slow.port}/", "huge": f"http://127.0.0.1:{huge.port}/", "plain": plain.url}
    ids = {}
    for name, url in urls.items():
        row = db.execute(
            "INSERT INTO alert_webhooks (service, url, secret, created_by, delivered_through) VALUES ('green_spaces', "
            "%s, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'test', (SELECT coalesce(max(id), 0) FROM alert_outbox)) "
            "RETURNING id",
            (url,),
        ).fetchone()
        ids[name] = row["id"]
    stop = threading.Event()
    deliverer = WebhookDeliverer(settings, refresh_s=0.2, timeout_s=2.0, total_s=3.0, max_attempts=2,
                                 max_backoff_s=0.2, poll_s=0.1)  # fmt: skip
    channel = MqttAlertChannel(settings, poll_s=0.1, client_id=f"tlab-alerts-mqtt-{uid}")
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in (deliverer, channel)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM alert_channels WHERE name = 'mqtt'") == 1, what="cursor")
        publish_all(stack, readings(device, (40, 0.5), (30, 0.4)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
        evaluate(stack)
        fired = db.execute("SELECT max(o.id) AS id FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id "
                           "WHERE a.subject = %s", (device,)).fetchone()["id"]  # fmt: skip
        ours = lambda: [r for r in plain.received if json.loads(r["body"])["alert"]["subject"] == device]  # noqa: E731
        wait_for(ours, timeout=10, what="the plain endpoint's delivery")
        wait_for(lambda: count(db, "SELECT delivered_through FROM alert_channels WHERE name = 'mqtt'") >= fired,
                 timeout=10, what="the MQTT channel past the event")  # fmt: skip

        def log(name: str) -> list[dict]:
            return db.execute(
                "SELECT attempt, status, error, outcome, duration_ms FROM alert_webhook_deliveries "
                "WHERE webhook_id = %s AND outbox_id = %s ORDER BY attempt", (ids[name], fired)
            ).fetchall()  # fmt: skip

        (delivered,) = wait_for(lambda: log("huge"), timeout=15, what="the endless answer's attempt")
        assert delivered["status"] == 200 and delivered["outcome"] == "delivered"
        attempts = wait_for(lambda: [a for a in log("slow") if a["outcome"] == "gave_up"] and log("slow"), timeout=20,
                            what="the trickling endpoint given up")  # fmt: skip
        assert [a["outcome"] for a in attempts] == ["retrying", "gave_up"]
        assert all("DeliveryTimeout" in a["error"] for a in attempts), attempts
    finally:
        stop.set()
        for t in threads:
            t.join(20)
        plain.close()
        db.execute("DELETE FROM alert_webhooks WHERE id = ANY(%s)", (list(ids.values()),))
    assert all(not t.is_alive() for t in threads)
