"""One retention purge at a time, whoever starts it, and the record of the last one that completed.

The evidence workers purge on their interval; Kubernetes runs ``tlab retention purge`` as a CronJob
backstop (the legal deadline must not depend on the copy worker being healthy); an operator may run it
by hand. All take the same session advisory lock, so two never purge at once (a purge deletes files after
its transaction: two would race on the same candidates), and each completed purge is recorded in
``retention_runs``, which the workers' gauge reads: the last success of *any* purger.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import psycopg

from core.db import scalar
from core.media_store import MediaStore
from services.evidence.retention import PurgeReport, purge

logger = logging.getLogger(__name__)

PURGE_LOCK = 0x746C_6162_7075_7267  # "tlabpurg"
RECORD = """
INSERT INTO retention_runs (one, last_success_at, last_by, last_report) VALUES (true, now(), %s, %s)
ON CONFLICT (one) DO UPDATE SET last_success_at = EXCLUDED.last_success_at, last_by = EXCLUDED.last_by,
    last_report = EXCLUDED.last_report
"""


def purge_under_lock(
    conn: psycopg.Connection[Any],
    media: MediaStore,
    days: int,
    *,
    by: str,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport | None:
    """Purge as of ``now`` (the database's clock by default) unless another purge holds the lock (then
    None: it is doing the same work). A completed purge (not a dry run) is recorded as the last success."""
    if not scalar(conn, "SELECT pg_try_advisory_lock(%s)", (PURGE_LOCK,)):
        logger.info("retention purge skipped: another purge holds the lock", extra={"by": by})
        return None
    try:
        moment = now or scalar(conn, "SELECT now()")
        report = purge(conn, media, moment, days, dry_run=dry_run)
        if not dry_run:
            conn.execute(RECORD, (by, json.dumps(report.as_dict())))
        return report
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (PURGE_LOCK,))


def last_success(conn: psycopg.Connection[Any]) -> datetime | None:
    """When the last completed purge finished (the database's clock), by any purger; None if none ever did."""
    last: datetime | None = scalar(conn, "SELECT last_success_at FROM retention_runs")
    return last
