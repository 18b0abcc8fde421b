"""Publishing helpers for integration tests (real broker, real paho client, every publish counted)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.device_registry import RegistryProvisioner
from core.settings import REPO_ROOT, Settings
from ingest.writer import claimed_identity
from sim.credentials import DeviceKeyring
from sim.publisher import CountingPublisher, OutboundMessage

INJECTOR_USER = "tlab-test-injector"


def injector_secret_file(settings: Settings) -> Path:
    return settings.state_dir / "test-injector.secret"


def device_of(topic: str) -> tuple[str, str] | None:
    """(device id, family) a topic names, if it is a well-formed device topic."""
    family, device = claimed_identity(topic)
    return (device, family) if family and device else None


def _logged_in(
    settings: Settings, username: str, secret: str, *, port: int | None = None, **options: Any
) -> CountingPublisher:
    publisher = CountingPublisher(
        settings.mqtt_host,
        port or settings.mqtt_port,
        f"{username}-{uuid.uuid4().hex[:6]}",
        credentials=(username, secret),
        **options,
    )
    publisher.connect()
    return publisher


def keyring(settings: Settings) -> DeviceKeyring:
    """The test session's device keyring (secrets in its state folder), provisioning through the registry."""
    return DeviceKeyring(settings, RegistryProvisioner(settings.database_url, pilot="test"))


def device_publisher(settings: Settings, device_id: str, family: str, **options: Any) -> CountingPublisher:
    """A connected publisher logged in as ``device_id`` (provisioned in the registry on first use)."""
    return _logged_in(settings, device_id, keyring(settings).ensure({device_id: family})[device_id], **options)


def injector_publisher(settings: Settings, **options: Any) -> CountingPublisher:
    """The test stack's fault injector: a service account (on the platform's listener, so its topics
    carry the device mount point) that may write any topic, for messages no provisioned device could
    send (malformed topics, unregistered or revoked device ids)."""
    secret = injector_secret_file(settings).read_text().strip()
    return _logged_in(settings, INJECTOR_USER, secret, port=settings.mqtt_service_port, **options)


def publish_all(
    settings: Settings, messages: Iterable[OutboundMessage], *, injector: bool = False
) -> list[CountingPublisher]:
    """Publish with QoS 1, each device over its own login (the injector's for topics that name no
    well-formed device, or for all with ``injector=True``), and wait for every PUBACK; fail the test if
    the broker did not take one."""
    groups: dict[tuple[str, str] | None, list[OutboundMessage]] = {}
    for message in messages:
        groups.setdefault(None if injector else device_of(message.topic), []).append(message)
    used = []
    for identity, group in groups.items():
        publisher = injector_publisher(settings) if identity is None else device_publisher(settings, *identity)
        if identity is None:  # the injector publishes on the platform's side of the device mount point
            group = [dataclasses.replace(m, topic=settings.mqtt_device_mount + m.topic) for m in group]
        try:
            for message in group:
                assert publisher.publish(message), f"publish to {message.topic} failed"
            assert publisher.flush(30), f"not every publish was acknowledged: {publisher.counts}"
        finally:
            publisher.close()
        assert publisher.counts.failed == 0 and publisher.counts.acked == publisher.counts.sent, publisher.counts
        used.append(publisher)
    return used


def garden(device_id: str, ts: str, **values: Any) -> OutboundMessage:
    body = {"ts": ts, **(values or {"soil_vwc_pct": 20.0})}
    return OutboundMessage(f"ptipot/{device_id}/readings", json.dumps(body).encode())


def worker_env(settings: Settings, client_id: str, **extra: str) -> dict[str, str]:
    """Environment for a `tlab ingest` process pointed at the test stack."""
    return {
        **os.environ,
        "TLAB_STATE_DIR": str(settings.state_dir),
        "TLAB_MQTT_PORT": str(settings.mqtt_port),
        "TLAB_MQTT_TLS_PORT": str(settings.mqtt_tls_port),
        "TLAB_MQTT_SERVICE_PORT": str(settings.mqtt_service_port),
        "TLAB_PG_PORT": str(settings.pg_port),
        "TLAB_PG_DATABASE": settings.pg_database,
        "TLAB_MEDIA_ROOT": str(settings.media_path),
        "TLAB_INGEST_CLIENT_ID": client_id,
        "TLAB_INGEST_METRICS_PORT": "0",
        **extra,
    }


def spawn_worker(settings: Settings, client_id: str, **extra: str) -> subprocess.Popen[bytes]:
    """A real ingest worker process (so that it can be SIGTERMed or SIGKILLed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tlab.cli", "ingest"],
        env=worker_env(settings, client_id, **extra),
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
    )


def readings(device: str, n: int, start_minute: int = 0) -> list[OutboundMessage]:
    """n distinct garden readings of one device, one second apart."""
    return [
        garden(
            device,
            f"2026-11-28T{10 + (start_minute + i // 60) // 60:02d}:{(start_minute + i // 60) % 60:02d}:{i % 60:02d}Z",
            soil_vwc_pct=float(i % 100),
        )
        for i in range(n)
    ]


def mosquitto_version() -> tuple[int, ...]:
    out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout
    return tuple(int(n) for n in out.split("version ", 1)[1].split()[0].split("."))


def mount_seen_by_devices(settings: Settings) -> str:
    """The prefix a device sees on the topics it receives: none, except on Mosquitto < 2.0.12, which
    leaves the listener's mount point on outgoing topics (fixed upstream by commit 723b5d70)."""
    return settings.mqtt_device_mount if mosquitto_version() < (2, 0, 12) else ""
