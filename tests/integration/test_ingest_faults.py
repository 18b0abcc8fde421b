"""Faults in the middle of a stream: the worker killed, the database stopped, the broker restarted.
Each test is bounded (a few thousand messages, well under a minute) and counts rows at the end."""

from __future__ import annotations

import signal
import threading
import time

import psycopg
import pytest

from deploy.local_stack import LocalStack
from sim.publisher import CountingPublisher, OutboundMessage
from tests.conftest import RunningWorker, wait_for
from tests.integration.helpers import device_of, device_publisher, garden, publish_all, readings, spawn_worker

pytestmark = pytest.mark.integration


class BackgroundPublisher:
    """Publishes messages at a steady rate from a thread, keeping what the broker acknowledged."""

    def __init__(self, settings, messages: list[OutboundMessage], rate: float) -> None:
        self.settings, self.messages, self.rate = settings, messages, rate
        identity = device_of(messages[0].topic)
        assert identity and all(device_of(m.topic) == identity for m in messages), "one device per stream"
        self.identity = identity
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        for i, message in enumerate(self.messages):
            assert self.publisher.publish(message, retry_for=60)
            delay = started + (i + 1) / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def start(self) -> BackgroundPublisher:
        self.publisher = device_publisher(self.settings, *self.identity, track_acked=True)
        self.publisher.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.thread.start()
        return self

    def finish(self, timeout: float = 90) -> CountingPublisher:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "publisher did not finish"
        assert self.publisher.flush(timeout), f"unacknowledged publishes: {self.publisher.counts}"
        self.publisher.close()
        return self.publisher


def _rows(settings, device: str) -> int:
    with psycopg.connect(settings.database_url, connect_timeout=3) as conn:
        return conn.execute("SELECT count(*) FROM garden_readings WHERE device_id = %s", (device,)).fetchone()[0]


def _probe_until_stored(settings, device: str) -> None:
    """Publish a probe until a worker stores it: the worker is connected and subscribed."""
    probe = garden(device, "2026-11-28T09:00:00Z")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        publish_all(settings, [probe])
        try:
            wait_for(lambda: _rows(settings, device) == 1, timeout=1.5, what="probe")
            return
        except AssertionError:
            continue
    raise AssertionError("no worker stored the probe")


def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(stack, uid) -> None:
    device, client_id = f"k{uid}", f"test-kill-{uid}"
    worker = spawn_worker(stack, client_id)
    try:
        _probe_until_stored(stack, device)
        stream = BackgroundPublisher(stack, readings(device, 3000), rate=1500).start()
        wait_for(lambda: _rows(stack, device) > 300, what="the stream to be well under way")  # mid-stream
        worker.send_signal(signal.SIGKILL)  # no flush, no ack, no DISCONNECT
        worker.wait(10)
        stored_at_kill = _rows(stack, device)
        worker = spawn_worker(stack, client_id)  # same session: the broker re-sends what was not acknowledged
        publisher = stream.finish()
        assert publisher.counts.acked == 3000
        wait_for(lambda: _rows(stack, device) == 3001, timeout=60, what="3000 readings + the probe")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert 1 < stored_at_kill < 3001, f"the kill did not land mid-stream ({stored_at_kill} stored)"


def test_database_stop_mid_stream_backpressures_then_recovers(stack, uid) -> None:
    device, receive_maximum = f"p{uid}", 50
    running = RunningWorker(stack, ingest_client_id=f"test-pgstop-{uid}", ingest_receive_maximum=receive_maximum)
    running.start()
    health = running.worker.metrics.health
    local = LocalStack(stack)
    try:
        stream = BackgroundPublisher(stack, readings(device, 1500), rate=600).start()
        wait_for(lambda: running.worker.stats.stored > 100, what="the stream to be under way")
        local.postgres_down()
        peak = 0
        for _ in range(30):  # 3 s with the database down
            peak = max(peak, running.worker.consumer.deliveries.qsize())
            time.sleep(0.1)
        assert running.worker.stats.db_errors > 0, "the worker did not notice the outage"
        assert health().status == "database_unavailable" and not health().healthy
        assert peak <= receive_maximum, f"worker buffered {peak} messages, more than Receive Maximum"
        local.postgres_up()
        publisher = stream.finish()
        assert publisher.counts.acked == 1500
        wait_for(lambda: _rows(stack, device) == 1500, timeout=60, what="1500 readings after the outage")
        assert running.thread.is_alive()
    finally:
        local.postgres_up()
        running.stop()


def test_broker_restart_mid_stream_loses_no_acknowledged_publish(stack, uid) -> None:
    device = f"b{uid}"
    running = RunningWorker(stack, ingest_client_id=f"test-brokerstop-{uid}")
    running.worker.consumer.client.reconnect_delay_set(min_delay=1, max_delay=2)
    running.start()
    local = LocalStack(stack)
    try:
        stream = BackgroundPublisher(stack, readings(device, 2000), rate=800).start()
        wait_for(lambda: stream.publisher.counts.acked > 300, what="the stream to be under way")
        local.mosquitto_down()  # a clean stop: Mosquitto writes its persistence file
        time.sleep(1.0)
        local.mosquitto_up()
        publisher = stream.finish()
        acked = {m.payload for m in publisher.acked_messages}
        assert len(acked) == 2000
        assert running.worker.consumer.generation >= 3, "the worker never saw the broker go away"
        wait_for(lambda: _rows(stack, device) == 2000, timeout=60, what="every acknowledged publish stored")
    finally:
        local.mosquitto_up()
        running.stop()
