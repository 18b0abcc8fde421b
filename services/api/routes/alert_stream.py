"""``GET /v1/alerts/stream``: the caller's open alerts, then every change of its alerts, as Server-Sent Events.

Each change is an outbox row (services/alerts/timeline.py): ``id`` is its outbox id, ``event`` is
``alert.<kind>`` (fired, cleared, retracted, acknowledged, assigned, resolved_by_hand), ``data`` the
alert as it was after the change. A client that reconnects with ``Last-Event-ID`` (browsers' EventSource
does it by itself) gets every event after that id: the outbox is ordered and kept, so there is no gap and
no duplicate. Without it (a new subscriber), the stream first sends the alerts open now (``alert.open``,
no id: a client cut off among them starts again with a fresh state), then ``stream.synced`` whose id is
the outbox position that state is at, then the changes after it. A comment line every ``KEEPALIVE_S``
keeps proxies from closing an idle stream and shows a dead client to the server.

A stream is only as good as its token (issue 19: a revoked token's open stream kept receiving alerts):
the token is checked again before every batch of events sent and every ``TOKEN_CHECK_S`` while idle, and a
revoked or expired one ends the stream (``stream.end``, reason ``token_revoked_or_expired``). A stream
also ends after ``TLAB_API_STREAM_MAX_SECONDS`` (reason ``max_life``): the client reconnects, presenting
its token again, and resumes with Last-Event-ID. Streams are capped per token and per process
(services/api/stream_slots.py): beyond, 429.

The stream never holds a pooled database connection between polls: a thousand open streams cost a
thousand sockets, not the pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from services.alerts.queries import ALERT_COLUMNS
from services.api.deps import PrincipalDep, bearer
from services.api.schemas import ErrorMessage, invalid
from services.api.stream_slots import StreamsExhausted, StreamSlot, StreamSlots
from services.auth.readers import visible_services
from services.auth.tokens import Principal, token_is_valid, verify_token

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/alerts", tags=["alerts"])
POLL_S = 0.25
KEEPALIVE_S = 15.0
TOKEN_CHECK_S = 5.0  # an idle stream of a revoked token ends within this
BATCH = 500
SNAPSHOT_MAX = 1000  # open alerts sent to a new subscriber; the rest are in GET /v1/alerts?state=open
_SLOTS_LOCK = threading.Lock()
EVENT_ID = re.compile(r"[0-9]{1,19}")

# One statement, so one snapshot: the outbox position and the open alerts agree (outbox ids follow commit
# order, services/alerts/timeline.py: lock_outbox). An alert a silence matches now is left out, as its
# changes are (the silence test mirrors timeline.SILENCE).
SNAPSHOT = f"""
SELECT (SELECT coalesce(max(id), 0) FROM alert_outbox) AS after,
       (SELECT coalesce(json_agg(row_to_json(o) ORDER BY o.fired_at, o.id), '[]'::json) FROM (
            SELECT {ALERT_COLUMNS} FROM alerts a
            WHERE a.state <> 'resolved' AND (%(services)s::text[] IS NULL OR a.service = ANY(%(services)s))
              AND NOT EXISTS (
                SELECT 1 FROM alert_silences s WHERE now() >= s.starts_at AND now() < s.ends_at
                  AND (s.rule_name IS NULL OR s.rule_name = a.rule_name)
                  AND (s.device_id IS NULL OR s.device_id = a.device_id)
                  AND (s.service IS NULL OR s.service = a.service)
                  AND (s.labels IS NULL OR a.labels @> s.labels))
            ORDER BY a.fired_at, a.id LIMIT %(most)s) o) AS alerts
"""


def _snapshot(pool: Any, services: list[str] | None) -> tuple[int, list[dict[str, Any]]]:
    with pool.connection() as conn:
        row = conn.execute(SNAPSHOT, {"services": services, "most": SNAPSHOT_MAX + 1}).fetchone()
    return int(row["after"]), list(row["alerts"])


def _poll(
    pool: Any, after: int, services: list[str] | None, still_valid: TokenCheck, check_token: bool
) -> tuple[bool, list[dict[str, Any]]]:
    """(is the token still good, the events after ``after``): the token is checked whenever there is
    something to send, after reading it, so nothing read after a revocation is sent."""
    with pool.connection() as conn:
        rows: list[dict[str, Any]] = conn.execute(
            "SELECT id, body FROM alert_outbox WHERE id > %(after)s AND silenced_by IS NULL "
            "AND (%(services)s::text[] IS NULL OR service = ANY(%(services)s)) ORDER BY id LIMIT %(batch)s",
            {"after": after, "services": services, "batch": BATCH},
        ).fetchall()
        live = still_valid(conn) if rows or check_token else True
    return live, rows


TokenCheck = Callable[[Any], bool]


def _validity(principal: Principal, credentials: HTTPAuthorizationCredentials | None) -> TokenCheck:
    """How the stream checks, poll after poll, that its caller may still read: the bearer token presented,
    or, for the console's relayed stream (a principal handed in-process), the token its session stands for."""
    if credentials is not None:
        token = credentials.credentials
        return lambda conn: verify_token(conn, token) is not None
    if principal.token_id is not None:
        token_id = principal.token_id
        return lambda conn: token_is_valid(conn, token_id)
    raise HTTPException(401, "a bearer token is required (Authorization: Bearer <token>)")


def _event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _end(reason: str) -> str:
    return _event("stream.end", {"reason": reason})


async def _events(
    request: Request,
    slot: StreamSlot,
    still_valid: TokenCheck,
    after: int | None,
    services: list[str] | None,
    max_events: int | None,
    deadline: float,
    max_life_ends_it: bool,
) -> AsyncIterator[str]:
    """An async generator: an open stream waits in the event loop, not in one of the server's worker
    threads (a few dozen idle streams must not starve the other routes); each poll borrows a pooled
    connection for one query."""
    pool = request.app.state.pool
    try:
        yield "retry: 2000\n\n"  # how long an EventSource waits before reconnecting
        if after is None:  # a new subscriber: the state first, then the changes
            position, open_alerts = await run_in_threadpool(_snapshot, pool, services)
            for alert in open_alerts[:SNAPSHOT_MAX]:
                yield _event("alert.open", {"event": "open", "alert": alert})
            synced = {"open": min(len(open_alerts), SNAPSHOT_MAX), "complete": len(open_alerts) <= SNAPSHOT_MAX}
            yield _event("stream.synced", synced, position)
        else:
            position = after
        sent = 0
        quiet_since = checked_at = time.monotonic()
        while max_events is None or sent < max_events:
            if time.monotonic() >= deadline:
                if max_life_ends_it:
                    yield _end("max_life")
                return
            if await request.is_disconnected():
                return
            check = time.monotonic() - checked_at >= TOKEN_CHECK_S
            live, rows = await run_in_threadpool(_poll, pool, position, services, still_valid, check)
            if check or rows:
                checked_at = time.monotonic()
            if not live:
                yield _end("token_revoked_or_expired")
                return
            for row in rows:
                position = row["id"]
                yield _event(f"alert.{row['body'].get('event', 'changed')}", row["body"], row["id"])
                sent += 1
                if max_events is not None and sent >= max_events:
                    return
            if rows:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL_S)
    finally:
        slot.release()


class _SlotStreamingResponse(StreamingResponse):
    """Gives the stream's slot back however the response ends: its generator may never run (a client gone
    before the first byte) or be dropped unfinished (a write to a closed socket). And ends it after
    ``at_most`` seconds whatever the client does: one that reads nothing fills its socket, the writes then
    wait for ever, and the generator's own checks (deadline, token) never run again."""

    def __init__(self, content: AsyncIterator[str], slot: StreamSlot, at_most: float, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.slot, self.at_most = slot, at_most

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.move_on_after(self.at_most) as scope_:
                await super().__call__(scope, receive, send)
            if scope_.cancelled_caught:
                logger.info("alert stream: ended at its deadline while its client read nothing")
        finally:
            self.slot.release()


def _slots(request: Request) -> StreamSlots:
    """The process's stream slots (one per app), made on first use."""
    state = request.app.state
    with _SLOTS_LOCK:
        if not hasattr(state, "stream_slots"):
            settings = state.settings
            state.stream_slots = StreamSlots(settings.api_streams_per_token, settings.api_streams_total)
    slots: StreamSlots = state.stream_slots
    return slots


@router.get(
    "/stream",
    summary="The caller's open alerts, then their changes, as Server-Sent Events (resume with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: {"model": ErrorMessage, "description": "Too many streams open for this token or this process"},
    },
)
def stream_alerts(
    request: Request,
    principal: PrincipalDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    last_event_id: Annotated[str | None, Header(description="The id of the last event received.")] = None,
    max_events: Annotated[
        int | None, Query(ge=1, le=100_000, description="End the stream after N changes (open alerts not counted).")
    ] = None,
    max_seconds: Annotated[
        float | None,
        Query(gt=0, le=86_400, description="End the stream after this long (at most TLAB_API_STREAM_MAX_SECONDS)."),
    ] = None,
) -> StreamingResponse:
    if last_event_id is None:
        after = None
    elif EVENT_ID.fullmatch(last_event_id) and int(last_event_id) < 2**63:  # not isdigit(): "²" is one
        after = int(last_event_id)
    else:
        raise invalid("header", "last-event-id", "an event id of this stream (a number)", last_event_id)
    still_valid = _validity(principal, credentials)
    max_life = float(request.app.state.settings.api_stream_max_seconds)
    life = min(max_seconds, max_life) if max_seconds else max_life
    try:
        slot = _slots(request).take(str(principal.token_id if principal.token_id is not None else principal.name))
    except StreamsExhausted as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "5"}) from exc
    deadline = time.monotonic() + life
    events = _events(
        request,
        slot,
        still_valid,
        after,
        visible_services(principal),
        max_events,
        deadline,
        max_life_ends_it=max_seconds is None or max_seconds > max_life,
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    # the generator ends itself at the deadline; the response, a poll and a keepalive later at the latest
    at_most = life + POLL_S + KEEPALIVE_S
    return _SlotStreamingResponse(events, slot, at_most, media_type="text/event-stream", headers=headers)
