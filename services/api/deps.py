"""The one place where cross-cutting concerns enter a route: database, media store, caller identity.

Every /v1 route goes through :func:`authorize`. Until roles exist (issue 4) it identifies every caller
as the local operator; the role checks will be added here, not in the routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request

from services.media_store import MediaStore
from tlab.settings import Settings


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]


LOCAL_OPERATOR = Principal("local-operator", frozenset({"admin"}))


def authorize(request: Request) -> Principal:
    principal = LOCAL_OPERATOR
    request.state.principal = principal
    return principal


def get_conn(request: Request) -> Iterator[psycopg.Connection[Any]]:
    with request.app.state.pool.connection() as conn:
        yield conn


def get_media(request: Request) -> MediaStore:
    return request.app.state.media


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ConnDep = Annotated[psycopg.Connection[Any], Depends(get_conn)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
PrincipalDep = Annotated[Principal, Depends(authorize)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
