"""The FastAPI application: routers registered explicitly, one pool and one media store per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from core.db import create_pool
from core.errors import first_line
from core.media_store import MediaStore
from core.migrate import SchemaBehind, require_current_schema
from core.settings import Settings
from services.api.audit import audit_middleware
from services.api.deps import authorize, known_parameters, storable_parameters
from services.api.family_routes import CAPABILITY_ROUTERS, FAMILY_ROUTERS
from services.api.guard import Guard, too_large
from services.api.limits import STATEMENT_TIMEOUT_S
from services.api.metrics import install as install_metrics
from services.api.routes import (
    alert_rules,
    alert_stream,
    alerts,
    audit,
    completeness,
    dead_letters,
    devices,
    experiments,
    health,
    incidents,
    inspection_imports,
    media,
    observations,
    positions,
    provisioning,
    reports,
    silences,
    tokens,
    webhooks,
)
from services.api.schemas import ERROR_RESPONSES, echoed, encodable
from services.console.app import ConsoleHeaders, console_error, mount_console

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            require_current_schema(settings.database_url)
        except (psycopg.OperationalError, SchemaBehind) as exc:  # serve anyway: /health tells
            logger.warning("database not ready at start-up", extra={"error": first_line(exc)})
        app.state.settings = settings
        app.state.pool = create_pool(settings.database_url, statement_timeout_s=STATEMENT_TIMEOUT_S["default"])
        app.state.media = MediaStore(settings.media_path)
        yield
        app.state.pool.close()

    app = FastAPI(
        title="Territoire Lab API",
        version="0.1.0",
        description="Telemetry, drone inspections, dumping-camera events and media of the lab's pilots.",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored assets: FastAPI's defaults load them from a CDN
        redoc_url=None,
    )
    mount_docs(app)
    mount_console(app)  # /console: French pages for staff, made of calls to /v1 as the signed-in person
    app.include_router(health.router)
    v1 = APIRouter(
        # who first, then what: a refused caller is told 401/403 (and audited) whatever its parameters
        prefix="/v1",
        dependencies=[Depends(authorize), Depends(storable_parameters), Depends(known_parameters)],
        responses=ERROR_RESPONSES,
    )
    # the stream before the alert routes: /alerts/stream is not an alert id
    for module in (
        devices,
        completeness,
        provisioning,
        positions,
        media,
        alert_stream,
        alerts,
        alert_rules,
        silences,
        webhooks,
        observations,
        reports,
        inspection_imports,
        incidents,
        experiments,
        dead_letters,
        tokens,
        audit,
    ):
        v1.include_router(module.router)
    for _capability, router in CAPABILITY_ROUTERS:  # each provided capability's routes, once
        v1.include_router(router)
    for _family, router in FAMILY_ROUTERS:  # each family's own routes, from its folder
        v1.include_router(router)
    v1.add_api_route(
        "/capabilities",
        health.capabilities,
        methods=["GET"],
        tags=["health"],
        summary="What the database can do (TimescaleDB TSL features or not)",
    )
    app.include_router(v1)
    app.add_middleware(Guard)  # inside the audit middleware: its refusals are audited like the routes'
    app.middleware("http")(audit_middleware)
    install_metrics(app)  # counts the guard's and the audit's answers too; GET /metrics
    app.add_middleware(ConsoleHeaders)  # outermost: every answer's security headers, the guard's refusals too

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's handler echoes each refused input: a lone surrogate in it made the 422 itself a 500
        detail = jsonable_encoder(echoed(exc.errors()))
        if request.url.path.startswith("/console"):  # a person's browser: a page in French
            first = detail[0] if detail else {}
            return console_error(request, 422, f"{'.'.join(map(str, first.get('loc', [])))}: {first.get('msg', '')}")
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 413 and MAX_BODY_SIZE_SCOPE_KEY in request.scope:  # a chunked body over its limit
            return JSONResponse({"detail": too_large(request.scope[MAX_BODY_SIZE_SCOPE_KEY])}, status_code=413)
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        if request.url.path.startswith("/console") and exc.status_code in (404, 405, 413, 422):
            return console_error(request, exc.status_code, str(encodable(exc.detail)))
        return JSONResponse({"detail": encodable(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def query_too_long(request: Request, _exc: psycopg.errors.QueryCanceled) -> JSONResponse:
        # statement_timeout (services/api/limits.py): the statement is cancelled, its connection is free again
        limit = getattr(request.state, "statement_timeout_s", STATEMENT_TIMEOUT_S["default"])
        logger.warning("query cancelled after its time limit", extra={"path": request.url.path, "limit_s": limit})
        return JSONResponse(
            {
                "detail": f"the query ran longer than this route allows ({limit:g} s) and was cancelled: narrow "
                "the time span, the filters or the page size, or retry later"
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"database unavailable: {first_line(exc)}"}, status_code=503)

    @app.exception_handler(psycopg.DataError)
    async def database_refused_value(_request: Request, exc: psycopg.DataError) -> JSONResponse:
        # a value of the request the database cannot take (out of range, malformed): the client's to fix
        logger.warning("database refused a request value", extra={"error": first_line(exc)})
        return JSONResponse(
            {"detail": [{"type": "value_error", "loc": ["request"], "msg": first_line(exc), "input": None}]},
            status_code=422,
        )

    return app


STATIC = Path(__file__).parent / "static"


def mount_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from the assets vendored from the npm registry (scripts/vendor-assets):
    nothing is fetched from a CDN or any other host, so the docs work on a network without internet."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    vendor = "/static/vendor"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{vendor}/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url=f"{vendor}/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url=f"{vendor}/swagger-ui-dist/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # its default sends the spec to validator.swagger.io
        )  # fmt: skip

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} - ReDoc",
            redoc_js_url=f"{vendor}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{vendor}/swagger-ui-dist/favicon-32x32.png", with_google_fonts=False,
        )  # fmt: skip
        # ReDoc 2.5 draws "API docs by Redocly" with a logo from cdn.redoc.ly, no option turns it off: the page's
        # policy lets images come from here only, so the browser never asks another host (tests/browser)
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page
