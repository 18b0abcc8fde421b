"""A mission the drone never ended (the simulator killed, the battery gone) does not stay "running" for
ever: it reads "interrupted" while its drone is offline or once the drone has started another mission,
and whatever the drone reports later (online again, the mission's end) wins."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sim.publisher import OutboundMessage
from tests.conftest import wait_for
from tests.integration.helpers import publish_all

pytestmark = pytest.mark.integration


def start(drone: str, mission: str, at: datetime) -> OutboundMessage:
    pipe = {"pipe_id": "BET-1042", "start_manhole": "R120", "end_manhole": "R121", "direction": "downstream",
            "diameter_mm": 600, "material": "concrete"}  # fmt: skip
    body = {"mission_id": mission, "ts": at.isoformat(), "pipe": pipe}
    return OutboundMessage(f"bathy/{drone}/mission/start", json.dumps(body).encode())


def test_a_mission_left_running_reads_interrupted_until_the_drone_says_otherwise(stack, ingest, api, uid) -> None:
    drone, first, second = f"md{uid}", f"M1-{uid}", f"M2-{uid}"
    now = datetime.now(UTC)

    def status(mission: str) -> str:
        return api.get(f"/v1/missions/{mission}").json()["status"]

    publish_all(
        stack, [start(drone, first, now - timedelta(minutes=20)), OutboundMessage(f"bathy/{drone}/status", b"online")]
    )
    wait_for(lambda: api.get(f"/v1/missions/{first}").status_code == 200 and status(first) == "running")

    publish_all(stack, [OutboundMessage(f"bathy/{drone}/status", b"offline")])  # the link's last will
    wait_for(lambda: status(first) == "interrupted", what="interrupted while the drone is offline")
    listed = api.get("/v1/missions", params={"device_id": drone}).json()["items"]
    assert [m["status"] for m in listed] == ["interrupted"]
    # the report says it as the API does: not "under way" when the drone is gone
    report = api.get(f"/v1/missions/{first}/report", params={"format": "html"}).text
    assert "Inspection interrompue" in report and "Inspection en cours" not in report
    assert api.get(f"/v1/missions/{first}/report").json()["mission"]["status"] == "interrupted"

    publish_all(stack, [OutboundMessage(f"bathy/{drone}/status", b"online")])
    wait_for(lambda: status(first) == "running", what="running again once the link is back")
    assert "Inspection en cours" in api.get(f"/v1/missions/{first}/report", params={"format": "html"}).text

    publish_all(stack, [start(drone, second, now - timedelta(minutes=5))])  # a new mission, the first never ended
    wait_for(lambda: api.get(f"/v1/missions/{second}").status_code == 200)
    assert (status(first), status(second)) == ("interrupted", "running")

    end = {"mission_id": first, "ts": (now - timedelta(minutes=10)).isoformat(), "status": "completed"}
    publish_all(stack, [OutboundMessage(f"bathy/{drone}/mission/end", json.dumps(end).encode())])
    wait_for(lambda: status(first) == "completed", what="the drone's own word wins")
    report = api.get(f"/v1/missions/{first}/report", params={"format": "html"}).text
    assert "Inspection interrompue" not in report and "Inspection en cours" not in report
