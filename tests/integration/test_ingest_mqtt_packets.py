"""Issue 19 item 0: whatever the broker accepts, ingest's MQTT connection survives it.

A drone frame whose MQTT v5 user property holds U+FEFF is valid MQTT (§1.5.4-3: a receiver must not strip or
refuse it) and Mosquitto forwards it; paho 2.2 refused it (MalformedPacket), dropped the connection, and the
broker re-sent it at every reconnect: no dead letter, and nothing after it was ever delivered. Each test here
runs its own worker (own client id, own persistent session) so that a poison message cannot leak into other
tests' sessions, and counts the worker's reconnects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest

from sim.publisher import OutboundMessage
from tests.conftest import RunningWorker, count, wait_for
from tests.integration.helpers import garden, publish_all

pytestmark = pytest.mark.integration

FRAME_CASE = Path(__file__).parents[2] / "device_adapters" / "bathy" / "testdata" / "valid_frame_v5_properties"


def _frame(drone: str, mission: str, ts: str, extra: tuple[tuple[str, str], ...] = ()) -> OutboundMessage:
    props = (("mission_id", mission), ("ts", ts), ("chainage_m", "12.5"), *extra)
    return OutboundMessage(f"bathy/{drone}/frame", (FRAME_CASE / "payload.jpg").read_bytes(), props)


def _frames(db, drone: str) -> int:
    return count(db, "SELECT count(*) FROM drone_frames WHERE device_id = %s", drone)


def _connections(worker: RunningWorker) -> int:
    """The consumer's connection generation: +1 at each connect and each disconnect."""
    return worker.worker.consumer.generation


# ---- the tests ------------------------------------------------------------------------------------------
def test_a_user_property_holding_u_feff_is_stored_and_the_connection_survives(stack, db, uid):
    drone, gardener = f"d{uid}", f"g{uid}"
    worker = RunningWorker(stack, ingest_client_id=f"test-feff-{uid}").start()
    try:
        generation = _connections(worker)
        feff = _frame(drone, f"m{uid}", "2026-11-29T04:00:00Z", (("operator", "\ufeffLéa"),))
        publish_all(stack, [feff])
        publish_all(stack, [garden(gardener, "2026-11-29T04:00:01Z")])
        wait_for(lambda: _frames(db, drone) == 1, what="the U+FEFF frame stored as an ordinary frame")
        wait_for(
            lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", gardener) == 1,
            what="the next message delivered",
        )
        stored = db.execute("SELECT count(*) AS n FROM dead_letters WHERE device_id = %s", (drone,)).fetchone()
        assert stored["n"] == 0
        assert _connections(worker) == generation, "the worker reconnected"
        assert worker.worker.consumer.connected.is_set()
        assert worker.worker.consumer.client.salvaged >= 1
        scraped = generate_latest(worker.worker.metrics.registry).decode()
        assert "tlab_ingest_packets_salvaged_total 1.0" in scraped
    finally:
        worker.stop()


def test_a_malformed_packet_becomes_a_dead_letter_with_its_topic_and_raw_payload(stack, db, uid):
    """What the client flags as malformed (a broker less strict than Mosquitto 2.0, which refuses bytes that
    are not UTF-8 in a property, may forward it: tests/unit/test_consumer_salvage.py reads such a packet)
    is dead-lettered as ``malformed_packet`` with its topic and raw payload, whatever the adapter would say."""
    from datetime import UTC, datetime

    from core.db import connect
    from core.media_store import MediaStore
    from device_adapters.contract import InboundMessage
    from ingest.writer import BatchWriter

    drone = f"d{uid}"
    jpeg = (FRAME_CASE / "payload.jpg").read_bytes()
    message = InboundMessage(
        f"bathy/{drone}/frame",
        jpeg,
        datetime.now(UTC),
        {"mission_id": f"m{uid}", "ts": "2026-11-29T04:00:00Z", "chainage_m": "1", "note": "caf\\xe9"},
        malformed="the client refused the PUBLISH (x); User Property value is not UTF-8 (byte 0xe9 at offset 3)",
    )
    with connect(stack.database_url) as conn:
        result = BatchWriter(MediaStore(stack.media_path), stack.max_payload_bytes).write(conn, [message])
    assert result.rejected == 1 and result.stored == 0
    letter = db.execute(
        "SELECT reason_code, reason, topic, payload FROM dead_letters WHERE device_id = %s", (drone,)
    ).fetchone()
    assert letter["reason_code"] == "malformed_packet" and "not UTF-8" in letter["reason"]
    assert letter["topic"] == f"bathy/{drone}/frame" and bytes(letter["payload"]) == jpeg
    assert _frames(db, drone) == 0
