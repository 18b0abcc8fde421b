"""Publishing helpers for integration tests (real broker, real paho client, every publish counted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable
from typing import Any

from sim.publisher import CountingPublisher, OutboundMessage
from tlab.settings import REPO_ROOT, Settings


def publish_all(settings: Settings, messages: Iterable[OutboundMessage]) -> CountingPublisher:
    """Publish with QoS 1 and wait for every PUBACK; fail the test if the broker did not take one."""
    publisher = CountingPublisher(settings.mqtt_host, settings.mqtt_port, f"test-pub-{uuid.uuid4().hex[:8]}")
    publisher.connect()
    try:
        for message in messages:
            assert publisher.publish(message), f"publish to {message.topic} failed"
        assert publisher.flush(30), f"not every publish was acknowledged: {publisher.counts}"
    finally:
        publisher.close()
    assert publisher.counts.failed == 0 and publisher.counts.acked == publisher.counts.sent
    return publisher


def garden(device_id: str, ts: str, **values: Any) -> OutboundMessage:
    body = {"ts": ts, **(values or {"soil_vwc_pct": 20.0})}
    return OutboundMessage(f"ptipot/{device_id}/readings", json.dumps(body).encode())


def worker_env(settings: Settings, client_id: str, **extra: str) -> dict[str, str]:
    """Environment for a `tlab ingest` process pointed at the test stack."""
    return {
        **os.environ,
        "TLAB_STATE_DIR": str(settings.state_dir),
        "TLAB_MQTT_PORT": str(settings.mqtt_port),
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
