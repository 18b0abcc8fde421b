"""``GET /v1/alerts/stream``: every change of the caller's alerts as Server-Sent Events, live.

Each event is an outbox row (services/alerts/timeline.py): ``id`` is its outbox id, ``event`` is
``alert.<kind>`` (fired, cleared, retracted, acknowledged, assigned, resolved_by_hand), ``data`` the
alert as it was after the change. A client that reconnects with ``Last-Event-ID`` (browsers' EventSource
does it by itself) gets every event after that id: the outbox is ordered and kept, so there is no gap and
no duplicate. Without it, the stream starts at the newest event. A comment line every ``KEEPALIVE_S``
keeps proxies from closing an idle stream and shows a dead client to the server.

The stream never holds a pooled database connection between polls: a thousand open streams cost a
thousand sockets, not the pool.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from services.api.deps import PrincipalDep
from services.api.routes.alerts import visible_services
from services.api.schemas import invalid

router = APIRouter(prefix="/alerts", tags=["alerts"])
POLL_S = 0.25
KEEPALIVE_S = 15.0
BATCH = 500


def _fetch(pool: Any, after: int, services: list[str] | None) -> list[dict[str, Any]]:
    with pool.connection() as conn:
        rows: list[dict[str, Any]] = conn.execute(
            "SELECT id, body FROM alert_outbox WHERE id > %(after)s AND silenced_by IS NULL "
            "AND (%(services)s::text[] IS NULL OR service = ANY(%(services)s)) ORDER BY id LIMIT %(batch)s",
            {"after": after, "services": services, "batch": BATCH},
        ).fetchall()
    return rows


async def _events(
    request: Request, after: int, services: list[str] | None, max_events: int | None, deadline: float | None
) -> AsyncIterator[str]:
    """An async generator: an open stream waits in the event loop, not in one of the server's worker
    threads (a few dozen idle streams must not starve the other routes); each poll borrows a pooled
    connection for one query."""
    pool = request.app.state.pool
    sent = 0
    quiet_since = time.monotonic()
    yield "retry: 2000\n\n"  # how long an EventSource waits before reconnecting
    while (max_events is None or sent < max_events) and (deadline is None or time.monotonic() < deadline):
        if await request.is_disconnected():
            return
        rows = await run_in_threadpool(_fetch, pool, after, services)
        for row in rows:
            after = row["id"]
            kind = row["body"].get("event", "changed")
            yield f"id: {row['id']}\nevent: alert.{kind}\ndata: {json.dumps(row['body'], separators=(',', ':'))}\n\n"
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        if rows:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keepalive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_S)


@router.get(
    "/stream",
    summary="Changes of the caller's alerts as Server-Sent Events (resume with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream_alerts(
    request: Request,
    principal: PrincipalDep,
    last_event_id: Annotated[str | None, Header(description="The id of the last event received.")] = None,
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="End the stream after N events.")] = None,
    max_seconds: Annotated[
        float | None, Query(gt=0, le=86_400, description="End the stream after this long (long polling).")
    ] = None,
) -> StreamingResponse:
    pool = request.app.state.pool
    if last_event_id is None:
        with pool.connection() as conn:
            after = conn.execute("SELECT coalesce(max(id), 0) AS id FROM alert_outbox").fetchone()["id"]
    elif last_event_id.isdigit() and int(last_event_id) < 2**63:
        after = int(last_event_id)
    else:
        raise invalid("header", "last-event-id", "an event id of this stream (a number)", last_event_id)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    deadline = time.monotonic() + max_seconds if max_seconds else None
    events = _events(request, after, visible_services(principal), max_events, deadline)
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
