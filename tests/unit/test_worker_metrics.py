"""The workers' health from their loop's heartbeat, and the API's route label (core/worker_metrics.py,
services/api/metrics.py)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from core.worker_metrics import Heartbeat
from services.api.metrics import route_template


def test_health_follows_the_loop() -> None:
    ready = threading.Event()
    beat = Heartbeat("w", ready, stale_after_s=60)
    assert beat.health().status == "starting" and not beat.health().healthy
    ready.set()
    beat.wrap(lambda conn: False)(None)
    assert (beat.health().status, beat.health().healthy, beat.cycles) == ("ok", True, 1)
    ready.clear()  # the loop lost its connection
    assert beat.health().status == "database_unavailable"
    ready.set()
    beat.last_cycle_at = time.monotonic() - 61  # no pass completed for longer than stale_after_s
    assert (beat.health().status, beat.health().healthy) == ("stalled", False)


def test_a_failed_pass_is_counted_by_kind_and_raised() -> None:
    beat = Heartbeat("w", threading.Event())

    def lost(conn: object) -> bool:
        raise psycopg.OperationalError("server closed the connection")

    with pytest.raises(psycopg.OperationalError):
        beat.wrap(lost)(None)
    assert beat.errors == {"database": 1} and beat.cycles == 0
    assert "server closed" in (beat.last_error or "")


def test_the_route_label_is_the_template_with_its_prefix_never_the_path() -> None:
    from fastapi.routing import APIRoute

    route = APIRoute("/devices/{device_id}", lambda device_id: None)
    assert route_template({"route": route, "path": "/v1/devices/secret-id"}) == "/v1/devices/{device_id}"
    assert route_template({"path": "/nope/secret-id"}) == "unmatched"
