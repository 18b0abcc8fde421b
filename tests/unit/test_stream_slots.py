"""Stream slots (issue 19, item 11): a cap per token and per process, a slot given back once however the
stream ends, and a stream that ends at its deadline even when its client reads nothing (a full socket
blocks the writes: the generator's own deadline check never runs then)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from services.api.routes.alert_stream import _SlotStreamingResponse
from services.api.stream_slots import StreamsExhausted, StreamSlots


def test_slots_are_capped_per_token_and_in_all_and_released_once() -> None:
    slots = StreamSlots(per_token=2, total=3)
    a1, a2 = slots.take("a"), slots.take("a")
    with pytest.raises(StreamsExhausted, match="2"):
        slots.take("a")
    b1 = slots.take("b")
    with pytest.raises(StreamsExhausted, match="this API process"):
        slots.take("c")
    a1.release()
    a1.release()  # twice: counted once
    assert slots.open_count("a") == 1 and slots.open_count() == 2
    slots.take("c")
    with pytest.raises(StreamsExhausted):
        slots.take("a")
    a2.release()
    b1.release()
    assert slots.open_count() == 1


def test_a_stream_whose_client_reads_nothing_still_ends_by_its_deadline_and_frees_its_slot() -> None:
    slots = StreamSlots(per_token=1, total=1)
    slot = slots.take("t")

    async def endless() -> AsyncIterator[str]:
        for n in itertools.count():
            yield f": {n}\n\n"

    async def run() -> None:
        response = _SlotStreamingResponse(endless(), slot, at_most=0.5, media_type="text/event-stream")
        blocked = asyncio.Event()

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body":  # the client's window is full: the write never returns
                blocked.set()
                await asyncio.Event().wait()

        async def receive() -> dict:
            await asyncio.Event().wait()  # the client says nothing, not even goodbye
            return {}

        scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
        await asyncio.wait_for(response(scope, receive, send), timeout=20)
        assert blocked.is_set()

    asyncio.run(run())
    assert slots.open_count() == 0
