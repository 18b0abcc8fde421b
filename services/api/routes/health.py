"""Health and capabilities. /health is the only route without authorisation (for probes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.capabilities import detect
from core.errors import first_line
from services.api.deps import ConnDep

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Liveness and database reachability (no credential needed)",
    responses={503: {"description": "The database is unreachable"}},
)
def health(request: Request) -> JSONResponse:
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            caps = detect(conn)
    except Exception as exc:  # noqa: BLE001 - whatever fails (pool timeout, driver), the answer is 503
        return JSONResponse({"status": "unavailable", "database": first_line(exc)}, status_code=503)
    body: dict[str, Any] = {"status": "ok", "database": "ok", "capabilities": caps.as_dict()}
    return JSONResponse(body)


def capabilities(conn: ConnDep) -> dict[str, Any]:
    return detect(conn).as_dict()
