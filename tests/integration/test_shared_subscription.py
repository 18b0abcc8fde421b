"""Scale-out with an MQTT v5 shared subscription on Mosquitto, and what the design does about its caveats.

- eclipse/mosquitto#1747: a disconnected persistent member keeps receiving its share. Here: the share
  waits in that member's session (delayed, never lost) and is stored when the member comes back or
  is retired (`tlab ingest --retire`), after which it receives nothing more.
- eclipse/mosquitto#2662: an in-flight QoS 1 message to a member that closes is not re-sent to the
  group. Here: it stays in that member's persistent session and is stored by its retirement.
"""

from __future__ import annotations

import time

import pytest

from ingest.worker import IngestWorker
from tests.conftest import RunningWorker, count, wait_for
from tests.integration.helpers import publish_all, readings

pytestmark = pytest.mark.integration


def _rows(db, device: str) -> int:
    return count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device)


def _member(stack, group: str, name: str) -> RunningWorker:
    return RunningWorker(stack, ingest_client_id=f"{group}-{name}", ingest_share_group=group)


def _retire(stack, group: str, name: str) -> int:
    worker = IngestWorker(stack.model_copy(update={"ingest_client_id": f"{group}-{name}", "ingest_share_group": group}))
    return worker.retire(quiet_s=1.0, timeout_s=60)


def test_members_split_the_load(stack, db, uid) -> None:
    group, device = f"split{uid}", f"sp{uid}"
    a, b = _member(stack, group, "a").start(), _member(stack, group, "b").start()  # both subscribed
    try:
        before = (a.worker.stats.stored, b.worker.stats.stored)  # nothing retained is sent at subscribe
        publish_all(stack, readings(device, 400))
        wait_for(lambda: _rows(db, device) == 400, what="400 readings")
        shares = (a.worker.stats.stored - before[0], b.worker.stats.stored - before[1])
        assert sum(shares) == 400 and min(shares) > 100, f"uneven split {shares}"
    finally:
        a.stop()
        b.stop()
    assert _retire(stack, group, "a") == 0 and _retire(stack, group, "b") == 0


def test_an_offline_member_keeps_its_share_until_retired(stack, db, uid) -> None:
    """#1747: B stops; Mosquitto still allocates B a share, which waits; retiring B stores it."""
    group, device = f"off{uid}", f"of{uid}"
    a, b = _member(stack, group, "a").start(), _member(stack, group, "b").start()  # both subscribed
    b.stop()  # a clean stop: B's session (and its subscription) stay on the broker
    try:
        publish_all(stack, readings(device, 300))
        wait_for(lambda: a.worker.stats.stored > 0, what="A to store its share")
        # no signal says "the broker has dealt A all of A's share": a quiet second stands for it
        time.sleep(1.0)
        held = 300 - _rows(db, device)
        assert 50 < held < 250, f"expected B's offline session to hold about half, it holds {held}"

        drained = _retire(stack, group, "b")
        assert drained == held
        assert _rows(db, device) == 300

        publish_all(stack, readings(device + "x", 100))  # B is gone: everything now goes to A
        wait_for(lambda: _rows(db, device + "x") == 100, timeout=10, what="all 100 to A")
    finally:
        a.stop()
    assert _retire(stack, group, "a") == 0


def test_in_flight_messages_of_a_member_that_dies_are_not_lost(stack, db, uid) -> None:
    """#2662: B takes messages and dies before committing them; A never gets them; B's retirement does."""
    group, device = f"die{uid}", f"di{uid}"
    a = _member(stack, group, "a").start()
    b = _member(stack, group, "b")
    held: list = []
    # B hangs: takes messages, never commits them (of which, this test's readings)
    b.worker.process = lambda batch: (
        held.extend(d for d in batch if d.message.topic.startswith(f"ptipot/{device}/")) or False
    )
    b.start()  # subscribed
    try:
        publish_all(stack, readings(device, 200))
        wait_for(lambda: a.worker.stats.stored >= 60, what="A's share")
        wait_for(lambda: len(held) > 0, what="B to hold messages")
        b.worker.consumer.client.loop_stop()
        b.worker.consumer.client.socket().close()  # B dies: no DISCONNECT, its in-flight messages unacknowledged
        b.worker.stopping.set()
        time.sleep(2.0)  # a quiet period for A to store what it was dealt (no signal says it is done)
        missing = 200 - _rows(db, device)
        assert missing >= len(held) > 0, "B died holding nothing: the test did not exercise in-flight messages"

        assert _retire(stack, group, "b") >= missing
        assert _rows(db, device) == 200
    finally:
        a.stop()
    assert _retire(stack, group, "a") == 0
