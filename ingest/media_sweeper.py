"""The ingest worker's sweep of the media store: files a crash left with no row naming them (issue 19 item 4a).

Ingest deletes at once the files of messages that ended without a row (ingest/writer.py); a worker killed
between a file's write and its COMMIT leaves one that only a sweep finds (``core.media_store.sweep_orphans``).
Every ``interval_s`` one worker of the deployment (a session advisory lock: the others skip that round)
deletes the files older than ``grace_s`` that no media row names.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

from core.db import connect, scalar
from core.errors import first_line
from core.media_store import MediaStore, sweep_orphans

logger = logging.getLogger(__name__)

SWEEP_LOCK = int.from_bytes(b"tlabswep", "big")  # one sweeping worker at a time


class MediaSweeper:
    def __init__(self, database_url: str, media: MediaStore, *, interval_s: float = 3600.0, grace_s: float = 3600.0):
        self.database_url = database_url
        self.media = media
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.deleted = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_s):
            try:
                self.sweep_once()
            except Exception as exc:  # the next round tries again; ingest itself is not concerned
                logger.warning("media sweep failed", extra={"error": first_line(exc)})

    def sweep_once(self) -> int | None:
        """One round; None if another worker holds the sweep."""
        with connect(self.database_url, connect_timeout=5) as conn:
            if not _try_lock(conn):
                return None
            try:
                deleted = sweep_orphans(conn, self.media, self.grace_s)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SWEEP_LOCK,))
        self.deleted += deleted
        if deleted:
            logger.info("files no row names deleted from the media store", extra={"count": deleted})
        return deleted


def _try_lock(conn: psycopg.Connection[Any]) -> bool:
    return bool(scalar(conn, "SELECT pg_try_advisory_lock(%s)", (SWEEP_LOCK,)))
