"""Replay requests recorded by the API, executed here, in the ingest worker's process.

The API only records what was asked (core/replay_requests.py) and notifies the workers;
a thread of each ingest worker claims requests one at a time (``FOR UPDATE SKIP LOCKED``: with several
workers each request runs once), runs the same replay as ``tlab dead-letters replay`` with the worker's
own media store, and writes the report back. A claim held past ``lease`` (its worker was killed) is
taken over; after ``max_attempts`` the request is marked failed with the last error.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import is_outage
from core.listening import listen_and_work
from core.replay_requests import CHANNEL, ReplayFilter
from core.settings import Settings
from ingest.replay import replay_dead_letters

logger = logging.getLogger(__name__)

CLAIM = """
UPDATE replay_requests SET state = 'running', claimed_by = %(worker)s, claimed_at = now(), attempts = attempts + 1
WHERE id = (
    SELECT id FROM replay_requests
    WHERE state = 'queued' OR (state = 'running' AND claimed_at < now() - %(lease)s)
    ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1
)
RETURNING id, selection, dry_run, attempts
"""
FINISH = "UPDATE replay_requests SET state = %s, finished_at = now(), report = %s, error = %s WHERE id = %s"


class ReplayRequestRunner:
    """Claims and runs replay requests until ``stop`` is set."""

    def __init__(
        self,
        settings: Settings,
        worker_name: str,
        *,
        poll_s: float = 0.25,  # also how long a stopping worker waits for this thread
        lease: timedelta = timedelta(minutes=10),
        max_attempts: int = 3,
    ) -> None:
        self.settings = settings
        self.worker_name = worker_name
        self.poll_s = poll_s
        self.lease = lease
        self.max_attempts = max_attempts
        self.done = 0

    def run(self, stop: threading.Event) -> None:
        # an outage, or a claim that failed: start over after a pause (one log line per attempt, backing off)
        listen_and_work(
            self.settings.database_url,
            CHANNEL,
            self.run_one,
            stop,
            poll_s=self.poll_s,
            name="replay requests",
            first_retry_s=self.poll_s,
        )

    def run_one(self, conn: psycopg.Connection[Any]) -> bool:
        """Claim and run one request; False when there is none."""
        claimed = conn.execute(CLAIM, {"worker": self.worker_name, "lease": self.lease}).fetchone()
        if claimed is None:
            return False
        request_id, body = claimed["id"], claimed["selection"]
        if claimed["attempts"] > self.max_attempts:
            conn.execute(FINISH, ("failed", None, "gave up after repeated interrupted attempts", request_id))
            return True
        selection = ReplayFilter(
            ids=tuple(body["ids"]),
            reason_code=body["reason_code"],
            topic=body["topic"],
            family=body["family"],
            limit=body["limit"],
        )
        try:
            report = replay_dead_letters(self.settings, selection, dry_run=claimed["dry_run"])
        except psycopg.Error as exc:
            if is_outage(exc):
                raise  # the lease hands the request over once the database is back
            conn.execute(FINISH, ("failed", None, f"{type(exc).__name__}: {exc}"[:2000], request_id))
            logger.exception("replay request failed", extra={"request": request_id})
            return True
        conn.execute(FINISH, ("done", Jsonb(report.as_dict()), None, request_id))
        self.done += 1
        logger.info("replay request done", extra={"request": request_id, **report.as_dict()})
        return True
