"""What a route gets from the process: a pooled database connection, the media store, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request

from core.db import set_statement_timeout
from core.media_store import MediaStore
from core.settings import Settings
from services.api.limits import STATEMENT_TIMEOUT_S


def get_conn(request: Request) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection whose statements end at the route's time limit (services/api/limits.py: the
    guard puts it on the request); the pool's connections default to the lists' limit."""
    with request.app.state.pool.connection() as conn:
        limit = getattr(request.state, "statement_timeout_s", None)
        if limit is not None and limit != STATEMENT_TIMEOUT_S["default"]:
            set_statement_timeout(conn, limit)
        yield conn


def get_media(request: Request) -> MediaStore:
    return request.app.state.media


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ConnDep = Annotated[psycopg.Connection[Any], Depends(get_conn)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
