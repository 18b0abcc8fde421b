"""What a route gets from the process: a pooled database connection, the media store, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request

from core.media_store import MediaStore
from core.settings import Settings


def get_conn(request: Request) -> Iterator[psycopg.Connection[Any]]:
    with request.app.state.pool.connection() as conn:
        yield conn


def get_media(request: Request) -> MediaStore:
    return request.app.state.media


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ConnDep = Annotated[psycopg.Connection[Any], Depends(get_conn)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
