"""The hand-off from paho's network thread to the writer thread.

The network thread must never block: while it waits it neither reads nor sends the PUBACKs the writer
asked for, and the whole pipeline stalls (measured: a bounded ``queue.Queue`` put was the largest item
in the worker's profile, because Mosquitto lets slightly more than Receive Maximum be in flight).
So ``put`` is a plain ``deque.append`` (atomic under the GIL) and wakes the writer only when it sleeps.
Memory stays bounded by the broker's Receive Maximum; a warning is logged if that bound is broken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Empty(Exception):
    pass


class Handoff(Generic[T]):
    def __init__(self, soft_limit: int) -> None:
        self._items: deque[T] = deque()
        self._ready = threading.Event()
        self.soft_limit = soft_limit
        self.peak = 0
        self._warned = False

    def put(self, item: T) -> None:
        self._items.append(item)
        size = len(self._items)
        if size > self.peak:
            self.peak = size
            if size > self.soft_limit and not self._warned:
                self._warned = True
                logger.warning("broker exceeds Receive Maximum", extra={"pending": size, "limit": self.soft_limit})
        self._ready.set()

    def get(self, timeout: float) -> T:
        """The oldest item, waiting up to ``timeout`` seconds; raises Empty."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._items.popleft()
            except IndexError:
                self._ready.clear()
                if self._items:  # an append raced the clear
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._ready.wait(remaining):
                    raise Empty from None

    def get_nowait(self) -> T:
        try:
            return self._items.popleft()
        except IndexError:
            raise Empty from None

    def qsize(self) -> int:
        return len(self._items)

    def oldest(self) -> T | None:
        try:
            return self._items[0]
        except IndexError:
            return None
