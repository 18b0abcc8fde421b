"""The audit middleware: one append-only row per audited call, allowed or refused, whatever the caller sent."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from core.storable import storable_text

logger = logging.getLogger(__name__)

# What a caller chose (its path, query, user agent) is stored escaped and bounded (core/storable.py): a NUL
# or a lone surrogate in a path made PostgreSQL refuse the row, and the refusal went unaudited.
MAX_PATH_CHARS = 2048
MAX_AGENT_CHARS = 512
INCIDENT_PATH = re.compile(r"/v1/incidents/([0-9]{1,19})(?:/|$)")

INSERT = """
INSERT INTO audit_log (principal, token_id, roles, method, path, query, status, client, user_agent, subject)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def _write(pool: Any, request: Request, status: int) -> None:
    principal = getattr(request.state, "principal", None)
    presented = getattr(request.state, "presented_token_id", None)  # set even when the token is refused
    refused = "anonymous" if presented is None else "invalid token"
    row = (
        principal.name if principal else refused,
        principal.token_id if principal else presented,
        sorted(str(r) for r in principal.roles) if principal else [],
        request.method,
        storable_text(request.url.path, MAX_PATH_CHARS),
        storable_text(request.url.query, MAX_PATH_CHARS) if request.url.query else None,
        status,
        request.client.host if request.client else None,
        _storable(request.headers.get("user-agent"), MAX_AGENT_CHARS),
        _storable(_subject(request), MAX_PATH_CHARS),
    )
    with pool.connection() as conn:
        conn.execute(INSERT, row)


def _storable(value: str | None, limit: int) -> str | None:
    return None if value is None else storable_text(value, limit)


def _subject(request: Request) -> str | None:
    """What the call was about: set by its route, or read from its path (an incident's id), so a refused
    call (stopped before the route ran) names its incident too."""
    subject = getattr(request.state, "audit_subject", None)
    if subject is None:
        # path_params are not there when the guard refused the call before routing: read the path
        incident = request.scope.get("path_params", {}).get("incident_id")
        if incident is None and (found := INCIDENT_PATH.match(request.url.path)):
            incident = found.group(1)
        subject = f"incident:{incident}" if incident is not None and str(incident).isdigit() else None
    return subject


async def audit_middleware(request: Request, call_next: Any) -> Any:
    response = await call_next(request)
    if getattr(request.state, "audit", False):
        try:
            await run_in_threadpool(_write, request.app.state.pool, request, response.status_code)
        except Exception:  # noqa: BLE001 - the call happened; a lost audit row must be loud, not a 500
            logger.exception("audit row not written", extra={"path": request.url.path})
    return response
