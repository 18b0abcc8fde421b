"""A dead-letter replay as a request: which letters, recorded by whoever asks (the API), run by an ingest
worker (ingest/replay_requests.py), which writes the report back on the same row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import scalar

CHANNEL = "tlab_replay_requests"


@dataclass(frozen=True)
class ReplayFilter:
    """Which unresolved dead letters to replay; no filter means all of them (up to ``limit``)."""

    ids: tuple[int, ...] = ()
    reason_code: str | None = None
    topic: str | None = None
    family: str | None = None
    limit: int = 1000


def request_replay(
    conn: psycopg.Connection[Any], selection: ReplayFilter, *, dry_run: bool, requested_by: str | None
) -> int:
    """Record a replay request and wake the workers (it runs when the transaction commits); returns its id."""
    body = {
        "ids": list(selection.ids),
        "reason_code": selection.reason_code,
        "topic": selection.topic,
        "family": selection.family,
        "limit": selection.limit,
    }
    request_id = scalar(
        conn,
        "INSERT INTO replay_requests (requested_by, selection, dry_run) VALUES (%s, %s, %s) RETURNING id",
        (requested_by, Jsonb(body), dry_run),
    )
    conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
    return int(request_id)
