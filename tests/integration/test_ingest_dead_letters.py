"""Issue 19 item 13: a dead letter is one message. Letters were keyed on (topic, payload): two frames with the
same JPEG and different MQTT v5 properties (mission, time, chainage) became one letter, and a replay would
have used one message's properties for both. The same message again (a redelivery) is still one letter."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.publisher import OutboundMessage
from tests.conftest import wait_for
from tests.integration.helpers import publish_all

pytestmark = pytest.mark.integration

JPEG = (
    Path(__file__).parents[2] / "device_adapters" / "bathy" / "testdata" / "valid_frame_v5_properties" / "payload.jpg"
)


def _frame(drone: str, mission: str, ts: str, chainage: str) -> OutboundMessage:
    props = (("mission_id", mission), ("ts", ts), ("chainage_m", chainage))
    return OutboundMessage(f"bathy/{drone}/frame", JPEG.read_bytes(), props)


def test_letters_that_share_a_payload_keep_each_messages_own_properties(stack, ingest, db, uid):
    drone = f"d{uid}"
    first = _frame(drone, f"m1{uid}", "2026-11-29T04:00:00Z", "-1")  # chainage below 0: refused
    second = _frame(drone, f"m2{uid}", "2026-11-29T04:00:05Z", "-2")
    publish_all(stack, [first, second, first])  # the first one twice: a device resending it

    def letters() -> list[dict]:
        return db.execute(
            "SELECT user_properties, occurrences, reason_code FROM dead_letters WHERE device_id = %s ORDER BY id",
            (drone,),
        ).fetchall()

    wait_for(lambda: sum(r["occurrences"] for r in letters()) == 3, what="three refused messages")
    rows = letters()
    by_mission = {r["user_properties"]["mission_id"]: r for r in rows}
    assert set(by_mission) == {f"m1{uid}", f"m2{uid}"}, "one letter for two different messages"
    assert by_mission[f"m1{uid}"]["occurrences"] == 2 and by_mission[f"m2{uid}"]["occurrences"] == 1
    assert by_mission[f"m2{uid}"]["user_properties"] == {
        "mission_id": f"m2{uid}",
        "ts": "2026-11-29T04:00:05Z",
        "chainage_m": "-2",
    }
    assert {r["reason_code"] for r in rows} == {"invalid_property"}
