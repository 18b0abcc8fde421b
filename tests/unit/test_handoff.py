from __future__ import annotations

import threading
import time

import pytest

from ingest.handoff import Empty, Handoff


def test_fifo_and_timeout() -> None:
    h: Handoff[int] = Handoff(soft_limit=10)
    for i in range(3):
        h.put(i)
    assert [h.get(0.1) for _ in range(3)] == [0, 1, 2]
    started = time.monotonic()
    with pytest.raises(Empty):
        h.get(0.05)
    assert time.monotonic() - started >= 0.05
    with pytest.raises(Empty):
        h.get_nowait()
    assert h.oldest() is None


def test_a_racing_producer_loses_nothing_and_keeps_order() -> None:
    h: Handoff[int] = Handoff(soft_limit=1_000_000)
    n = 50_000

    def produce() -> None:
        for i in range(n):
            h.put(i)
            if i % 5000 == 0:
                time.sleep(0.001)  # let the consumer drain and go to sleep now and then

    producer = threading.Thread(target=produce)
    producer.start()
    got = [h.get(5) for _ in range(n)]
    producer.join()
    assert got == list(range(n))
    assert h.qsize() == 0 and h.peak >= 1


def test_overshooting_the_soft_limit_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    h: Handoff[int] = Handoff(soft_limit=2)
    for i in range(4):
        h.put(i)
    assert h.peak == 4
    assert "exceeds Receive Maximum" in caplog.text
