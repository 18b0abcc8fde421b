"""How many alert streams are open, per token and in all, in this API process: a stream is cheap but not
free (a socket, a poll every 250 ms), and one token holder must not be able to open thousands (issue 19,
found probing: no cap at all). Beyond a cap the stream is refused with 429; a stream that ends, however it
ends (its client gone, its token revoked, its life over), gives its slot back.

The counts are per process: with N API processes a token may hold N times its cap, and the total is each
process's own bound (what its event loop and pool can carry).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

logger = logging.getLogger(__name__)


class StreamsExhausted(Exception):
    """No slot: the token's cap or the process's is reached (the message says which)."""


class StreamSlot:
    """One open stream's place; ``release`` may be called any number of times (only the first counts)."""

    def __init__(self, slots: StreamSlots, key: str) -> None:
        self._slots, self.key = slots, key
        self._released = False

    def release(self) -> None:
        with self._slots.lock:
            if self._released:
                return
            self._released = True
            self._slots.release(self.key)


class StreamSlots:
    def __init__(self, per_token: int, total: int) -> None:
        self.per_token, self.total = per_token, total
        self.lock = threading.Lock()  # taken by the routes' worker threads and the event loop alike
        self._open: Counter[str] = Counter()

    def take(self, key: str) -> StreamSlot:
        """A slot for one more stream of ``key`` (a token), or StreamsExhausted."""
        with self.lock:
            if self._open[key] >= self.per_token:
                raise StreamsExhausted(
                    f"this token has {self._open[key]} alert streams open, the most it may hold at once "
                    f"({self.per_token}): close one, or reconnect with Last-Event-ID once one has ended"
                )
            if self._open.total() >= self.total:
                logger.warning("alert streams: the process's cap is reached", extra={"open": self._open.total()})
                raise StreamsExhausted(
                    f"this API process holds the most alert streams it may ({self.total}): retry later"
                )
            self._open[key] += 1
            return StreamSlot(self, key)

    def release(self, key: str) -> None:
        """Called with ``lock`` held, by a slot (once)."""
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]

    def open_count(self, key: str | None = None) -> int:
        with self.lock:
            return self._open.total() if key is None else self._open[key]
