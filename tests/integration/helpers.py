"""Publishing helpers for integration tests (real broker, real paho client, every publish counted)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sim.publisher import CountingPublisher, OutboundMessage
from tlab.settings import Settings


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
