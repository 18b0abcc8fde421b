"""Metrics and health of ``tlab broker-credentials`` (the broker files' one writer), served on
``TLAB_BROKER_CREDENTIALS_METRICS_PORT``.

Read from the owner from outside (its loop is core/broker_credentials.py's): files written, whether this
process owns the files. ``/healthz`` asks the database who holds the owner's advisory lock: 200 ``owner``
(this process writes), 200 ``standby`` (another process holds the lock: a hot standby is healthy), 503
``not_owning`` (nobody holds it: the owner is failing or starting) or ``database_unavailable``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily

from core.broker_credentials import OWNER_LOCK, BrokerCredentialsOwner
from core.db import scalar
from core.errors import first_line
from core.worker_metrics import Health, Heartbeat, WorkerMetrics, bounded_query, counter

logger = logging.getLogger(__name__)

# pg_locks splits a bigint advisory key into classid (high 32 bits) and objid (low 32 bits)
LOCK_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
    "AND classid = %s::bigint::oid AND objid = %s::bigint::oid"
)


def broker_credentials_metrics(owner: BrokerCredentialsOwner) -> WorkerMetrics:
    heartbeat = Heartbeat("broker_credentials", owner.owning)
    owner.wrap_pass = heartbeat.wrap  # a pass is a notified rewrite: its age is the time since the last one

    def families() -> Iterator[Any]:
        yield counter("tlab_broker_credentials_writes", "Times the broker's files were written", owner.writes)
        yield GaugeMetricFamily(
            "tlab_broker_credentials_owner", "1 while this process owns the broker's files",
            value=1 if owner.owning.is_set() else 0,
        )  # fmt: skip

    def health() -> Health:
        detail: dict[str, Any] = {"worker": "broker_credentials", "writes": owner.writes}
        if owner.owning.is_set():
            return Health("owner", True, detail)
        try:
            held = bounded_query(
                owner.settings.database_url,
                lambda conn: scalar(conn, LOCK_HELD, (OWNER_LOCK >> 32, OWNER_LOCK & 0xFFFFFFFF)),
            )
        except psycopg.Error as exc:
            detail["error"] = first_line(exc)
            return Health("database_unavailable", False, detail)
        if held:
            return Health("standby", True, detail)
        return Health("not_owning", False, detail)

    return WorkerMetrics("tlab_broker_credentials", heartbeat, families, health=health)
