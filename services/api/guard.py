"""The door of the API, before any route reads a byte of a request's body.

FastAPI reads and parses a route's JSON body *before* it solves the route's dependencies, authorisation
included, and neither FastAPI nor uvicorn bounds a body by default: a 300 MiB body without a token took
the API to +1.1 GB before its 401. This ASGI middleware therefore, from the request line and headers only:

- authenticates and authorises every ``/v1`` call the access policy names
  (``services.api.deps.authenticate``: 401/403, audited like any refusal); the route's own ``authorize``
  dependency then reuses the verdict;
- bounds the body by the route's declared limit (``services/api/limits.py``): a Content-Length over it is
  a 413 at once; a chunked body is counted as it is received (Starlette's ``RequestBodyLimitMiddleware``)
  and cut at the limit with a 413;
- gives the route its statement time limit and binds list cursors to the list that issued them.

Until a route asks for its body, uvicorn stops reading the socket once 64 KiB are buffered (flow
control), so a refused request costs the server that much whatever its size (measured: a 300 MiB body
without a token, 401 after the client could push ~3 MiB into the kernel's socket buffers; the API's
memory moved by ~1 MB).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import HTTPException
from psycopg_pool import PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from core.errors import first_line
from services.api import pagination
from services.api.deps import authenticate, bearer
from services.api.limits import body_limit, statement_timeout_s
from services.api.policy import UNDECLARED, match_request
from services.api.schemas import encodable

logger = logging.getLogger(__name__)


def too_large(limit: int) -> str:
    return f"the request body is larger than this route takes ({limit} bytes)"


class Guard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        template, policy = match_request(method, path)
        limit = body_limit(method, template)
        state = scope.setdefault("state", {})
        state["statement_timeout_s"] = statement_timeout_s(method, template)
        # a path no policy names is no route (404), or a route the dependency refuses to all (403); either
        # way its body is bounded by the default limit
        if policy is not UNDECLARED:
            refusal = await _refusal(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        length = _content_length(scope)
        if length is not None and length > limit:
            await JSONResponse({"detail": too_large(limit)}, status_code=413)(scope, receive, send)
            return
        bound = pagination.bind_cursors(_list_name(scope))
        try:
            await RequestBodyLimitMiddleware(self.app, max_body_size=limit)(scope, receive, send)
        finally:
            pagination.unbind_cursors(bound)


async def _refusal(request: Request) -> JSONResponse | None:
    """The 401/403 (or 503) for this request, decided from its headers alone; None if it may go on."""
    try:
        credentials = await bearer(request)
        await run_in_threadpool(authenticate, request, credentials)
    except HTTPException as exc:
        return JSONResponse({"detail": encodable(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
    except (PoolTimeout, psycopg.OperationalError) as exc:
        logger.warning("database unavailable to check a token", extra={"error": first_line(exc)})
        return JSONResponse({"detail": f"database unavailable: {first_line(exc)}"}, status_code=503)
    return None


def _list_name(scope: Scope) -> str:
    return pagination.list_name(scope["method"], scope["path"], QueryParams(scope["query_string"]).multi_items())


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


__all__: list[Any] = ["Guard", "too_large"]
