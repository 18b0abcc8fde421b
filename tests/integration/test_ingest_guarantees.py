"""Ingest guarantees against the real broker and database: dead letters, idempotency, redelivery,
surviving bad input, clean stop."""

from __future__ import annotations

import json
import signal

import pytest

from sim.publisher import OutboundMessage
from tests.conftest import RunningWorker, count, wait_for
from tests.integration.helpers import garden, publish_all, spawn_worker

pytestmark = pytest.mark.integration


def test_malformed_messages_are_dead_lettered_and_the_good_ones_around_them_stored(stack, ingest, db, uid):
    device, drone = f"g{uid}", f"d{uid}"
    bad = [
        OutboundMessage(f"ptipot/{device}/readings", b'{"ts": "2026-11-28T10:00:01Z", "soil_vwc_pct": "wet"}'),
        OutboundMessage(f"ptipot/{device}/readings", b"\xff\xfe not utf-8"),
        OutboundMessage(f"ptipot/{device}/readings", b'{"ts": "2026-11-28T10:00:02Z", "soil_vwc_pct": NaN}'),
        OutboundMessage(
            f"bathy/{drone}/frame",
            b"GIF89a not a jpeg",
            (("mission_id", "m"), ("ts", "2026-11-28T10:00:00Z"), ("chainage_m", "1")),
        ),
    ]
    messages = [garden(device, "2026-11-28T10:00:00Z"), *bad, garden(device, "2026-11-28T10:00:03Z")]
    publish_all(stack, messages)

    wait_for(
        lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id IN (%s, %s)", device, drone) == 4,
        what="4 dead letters",
    )
    assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2
    rows = db.execute(
        "SELECT topic, family, reason_code, reason, payload FROM dead_letters WHERE device_id IN (%s, %s)",
        (device, drone),
    ).fetchall()
    by_payload = {bytes(r["payload"]): r for r in rows}
    assert set(by_payload) == {m.payload for m in bad}  # raw bytes kept exactly
    assert by_payload[bad[0].payload]["reason"] == "soil_vwc_pct: Input should be a valid number"
    assert by_payload[bad[1].payload]["reason_code"] == "not_utf8"
    assert by_payload[bad[2].payload]["reason"] == "soil_vwc_pct: Input should be a finite number"
    assert by_payload[bad[3].payload]["reason_code"] == "not_jpeg"
    assert by_payload[bad[3].payload]["family"] == "bathy"


def test_an_exact_duplicate_is_stored_once_and_a_conflicting_one_is_dead_lettered(stack, ingest, db, uid):
    device = f"g{uid}"
    first = garden(device, "2026-11-28T10:00:00Z", soil_vwc_pct=21.5)
    conflicting = garden(device, "2026-11-28T10:00:00Z", soil_vwc_pct=35.0)
    publish_all(stack, [first, first, first])
    wait_for(lambda: count(db, "SELECT count(*) FROM devices WHERE device_id = %s", device) == 1, what="device")
    publish_all(stack, [first, conflicting])

    letter = wait_for(
        lambda: db.execute(
            "SELECT reason_code, reason, payload FROM dead_letters WHERE device_id = %s", (device,)
        ).fetchone(),
        what="the conflict's dead letter",
    )
    assert letter["reason_code"] == "conflicting_duplicate"
    assert bytes(letter["payload"]) == conflicting.payload
    assert "garden_readings already holds a different row" in letter["reason"]
    rows = db.execute("SELECT soil_vwc_pct FROM garden_readings WHERE device_id = %s", (device,)).fetchall()
    assert rows == [{"soil_vwc_pct": 21.5}]


def test_a_message_redelivered_by_the_broker_is_not_stored_twice(stack, db, uid):
    """Worker A commits but 'crashes' before acknowledging (its connection drops without DISCONNECT);
    the broker re-sends the unacknowledged messages to the session's next connection (worker B)."""
    device, client_id = f"g{uid}", f"test-redelivery-{uid}"
    crashing = RunningWorker(stack, ingest_client_id=client_id)
    crashing.worker.consumer.ack = lambda deliveries: 0  # the crash point: after commit, before PUBACK
    crashing.start()
    messages = [garden(device, f"2026-11-28T10:00:{i:02d}Z", soil_vwc_pct=float(i)) for i in range(20)]
    publish_all(stack, messages)
    wait_for(lambda: crashing.worker.stats.stored == 20, what="worker A to commit 20 messages")
    crashing.worker.consumer.client.loop_stop()
    crashing.worker.consumer.client.socket().close()  # no DISCONNECT packet: like a killed process
    crashing.worker.stopping.set()
    crashing.thread.join(10)

    resumed = RunningWorker(stack, ingest_client_id=client_id).start()
    try:
        wait_for(lambda: resumed.worker.stats.acked >= 20, what="worker B to receive and ack the redelivery")
        assert resumed.worker.stats.rows_duplicate >= 20
        assert resumed.worker.stats.rows_inserted == 0
    finally:
        resumed.stop()
    assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 20


def test_the_worker_survives_a_burst_of_bad_input(stack, ingest, db, uid):
    device = f"g{uid}"
    # over the platform's limit, yet under the broker's (which leaves room for the topic and properties)
    huge = b'{"ts": "2026-11-28T10:00:00Z", "note": "' + b"x" * (stack.max_payload_bytes + 1000) + b'"}'
    messages: list[OutboundMessage] = [OutboundMessage(f"ptipot/{device}/readings", huge)]
    for i in range(300):
        kind = i % 6
        payload = [
            b'{"ts": "2026-11-28T10:00:00Z", "soil_vwc_pct": %d' % i,  # truncated
            b'{"ts": "2026-11-28T10:00:00Z", "soil_vwc_pct": 1e999, "n": %d}' % i,
            b"[" * 300 + b"%d" % i,
            b'{"ts": "3026-01-01T00:00:00Z", "rain_mm": %.1f}' % (i / 10),
            b'{"ts": "1990-01-01T00:00:00Z", "rain_mm": %.1f}' % (i / 10),
            b"\xc3\x28 %d" % i,
        ][kind]
        messages.append(OutboundMessage(f"ptipot/{device}/readings", payload))
        if i % 10 == 0:
            messages.append(garden(device, f"2026-11-28T11:{i // 60:02d}:{i % 60:02d}Z"))
    publish_all(stack, messages)

    wait_for(
        lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", device) == 301,
        timeout=60,
        what="301 dead letters",
    )
    assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 30
    codes = {
        r["reason_code"]
        for r in db.execute("SELECT DISTINCT reason_code FROM dead_letters WHERE device_id = %s", (device,)).fetchall()
    }
    assert codes == {
        "payload_too_large",
        "invalid_json",
        "invalid_field",
        "timestamp_in_future",
        "invalid_timestamp",
        "not_utf8",
    }
    assert ingest.thread.is_alive()
    publish_all(stack, [garden(device, "2026-11-28T12:00:00Z")])
    wait_for(
        lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 31,
        what="a good message after the burst",
    )


def test_sigterm_flushes_and_the_session_keeps_what_arrives_while_stopped(stack, db, uid):
    device, client_id = f"g{uid}", f"test-sigterm-{uid}"

    first = spawn_worker(stack, client_id)
    try:
        wait_for(lambda: _subscribed(stack, device, db), timeout=30, what="the worker to take messages")
        publish_all(stack, [garden(device, f"2026-11-28T10:00:{i:02d}Z") for i in range(1, 11)])
        wait_for(
            lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 11,
            what="11 readings",
        )
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err.decode()[-2000:]
    assert b"ingest stopped" in err

    publish_all(stack, [garden(device, f"2026-11-28T10:01:{i:02d}Z") for i in range(10)])  # nobody consuming
    second = spawn_worker(stack, client_id)
    try:
        wait_for(
            lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 21,
            timeout=30,
            what="the 10 readings published while the worker was stopped",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
    assert second.returncode == 0


def _subscribed(stack, device: str, db) -> bool:
    """Publish a probe reading until the worker stores it (the worker is then connected and subscribed)."""
    publish_all(stack, [garden(device, "2026-11-28T09:59:59Z")])
    try:
        wait_for(
            lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 1,
            timeout=2,
            what="probe",
        )
    except AssertionError:
        return False
    return True


def test_dead_letter_payload_is_served_raw(stack, ingest, api, db, uid):
    device = f"g{uid}"
    payload = b'{"ts": "2026-11-28T10:00:00Z", "soil_vwc_pct": "\xe9"}'
    publish_all(stack, [OutboundMessage(f"ptipot/{device}/readings", payload)])
    row = wait_for(
        lambda: db.execute("SELECT id FROM dead_letters WHERE device_id = %s", (device,)).fetchone(), what="dead letter"
    )
    detail = api.get(f"/v1/dead-letters/{row['id']}").json()
    assert detail["reason_code"] == "not_utf8" and detail["payload_preview_text"] is None
    assert api.get(f"/v1/dead-letters/{row['id']}/payload").content == payload
    listed = api.get("/v1/dead-letters", params={"reason_code": "not_utf8"}).json()["items"]
    assert any(item["id"] == row["id"] for item in listed)
    assert json.loads(json.dumps(detail))["device_id"] == device
