"""The audit middleware: one append-only row per audited call, allowed or refused."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

logger = logging.getLogger(__name__)

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
        request.url.path,
        request.url.query or None,
        status,
        request.client.host if request.client else None,
        request.headers.get("user-agent"),
        _subject(request),
    )
    with pool.connection() as conn:
        conn.execute(INSERT, row)


def _subject(request: Request) -> str | None:
    """What the call was about: set by its route, or read from its path (an incident's id), so a refused
    call (stopped before the route ran) names its incident too."""
    subject = getattr(request.state, "audit_subject", None)
    if subject is None:
        incident = request.scope.get("path_params", {}).get("incident_id")
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
