"""The broker's TLS listener, with the certificate the local stack issues from its private CA."""

from __future__ import annotations

import socket
import ssl
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sim.publisher import CountingPublisher
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, keyring

pytestmark = pytest.mark.integration


def test_a_device_publishes_over_tls_with_the_private_ca(stack, ingest, db, uid) -> None:
    device = f"tls{uid}"
    secret = keyring(stack).ensure({device: "ptipot"})[device]
    publisher = CountingPublisher(
        stack.mqtt_host,
        stack.mqtt_tls_port,
        f"{device}-tls",
        credentials=(device, secret),
        tls_ca=stack.mqtt_tls_trust,
    )
    publisher.connect(timeout=10)
    try:
        assert publisher.publish(garden(device, "2026-11-28T10:00:00Z"))
        assert publisher.flush(10) and publisher.counts.acked == 1
    finally:
        publisher.close()
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 1, what="row")


def test_the_tls_listener_refuses_plain_mqtt_and_untrusted_clients_refuse_it(stack) -> None:
    plain = CountingPublisher(stack.mqtt_host, stack.mqtt_tls_port, f"plain-{uuid.uuid4().hex[:6]}")
    with pytest.raises(ConnectionError):
        plain.connect(timeout=3)

    # a client that trusts only the system's authorities rejects the private CA's certificate
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"untrusting-{uuid.uuid4().hex[:6]}")
    client.tls_set()
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect(stack.mqtt_host, stack.mqtt_tls_port)

    # and the certificate names the hosts it serves: trusted CA, another name -> refused
    context = ssl.create_default_context(cafile=str(stack.mqtt_tls_trust))
    address = (stack.mqtt_host, stack.mqtt_tls_port)
    with (
        socket.create_connection(address, timeout=5) as sock,
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        context.wrap_socket(sock, server_hostname="broker.example.org")
    with (
        socket.create_connection(address, timeout=5) as sock,
        context.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}
