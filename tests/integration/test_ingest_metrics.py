"""Prometheus metrics and /healthz of a worker: exact counters, idle vs stuck."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import psycopg
import pytest

from sim.publisher import OutboundMessage
from tests.conftest import RunningWorker, wait_for
from tests.integration.helpers import garden, publish_all

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{") and line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


@pytest.fixture
def metered(stack, uid):
    port = free_port()
    running = RunningWorker(
        stack, ingest_client_id=f"test-metrics-{uid}", ingest_metrics_port=port, ingest_stuck_after_s=1.0
    ).start()
    yield running, port
    running.stop()


def test_counters_match_what_was_sent(stack, metered, uid) -> None:
    running, port = metered
    device = f"m{uid}"
    good = [garden(device, f"2026-11-28T10:00:0{i}Z") for i in range(5)]
    bad = [
        OutboundMessage(f"ptipot/{device}/readings", b'{"ts": "2026-11-28T10:00:00Z", "soil_vwc_pct": "x%d"}' % i)
        for i in range(2)
    ]
    publish_all(stack, [*good, good[0], *bad])  # one exact duplicate
    wait_for(lambda: running.worker.stats.acked == 8, what="8 acknowledged")

    status, text = get(port, "/metrics")
    assert status == 200
    assert metric(text, "tlab_ingest_received_total") == 8
    assert metric(text, "tlab_ingest_stored_total") == 6
    assert metric(text, "tlab_ingest_rows_inserted_total") == 5
    assert metric(text, "tlab_ingest_duplicates_total") == 1
    assert metric(text, 'tlab_ingest_rejected_total{reason="invalid_field"}') == 2
    assert metric(text, "tlab_ingest_connected") == 1
    assert metric(text, "tlab_ingest_batch_messages_count") >= 1
    status, body = get(port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "idle"


def test_healthz_tells_stuck_from_idle(stack, metered, uid) -> None:
    running, port = metered
    device = f"s{uid}"
    with psycopg.connect(stack.database_url) as blocker:
        blocker.execute("LOCK TABLE garden_readings IN ACCESS EXCLUSIVE MODE")  # the worker's insert will wait
        publish_all(stack, [garden(device, "2026-11-28T10:00:00Z")])

        def stuck() -> dict | None:
            status, body = get(port, "/healthz")
            doc = json.loads(body)
            return doc if status == 503 and doc["status"] == "stuck" else None

        doc = wait_for(stuck, timeout=15, what="/healthz to report stuck")
        # at least our message is held (in a full run the fresh worker may hold others too)
        assert doc["pending"] >= 1 and doc["oldest_pending_s"] > 1, doc
        blocker.rollback()  # release the lock
    wait_for(lambda: json.loads(get(port, "/healthz")[1])["status"] == "idle", what="idle again")
    assert running.worker.stats.stored >= 1
