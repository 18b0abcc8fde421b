"""The platform's side of ``device_adapters.api.ApiKit``: what a family's own routes get."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from core.db import one_row
from services.api import pagination
from services.api.resources import ConnDep
from services.api.schemas import Limit, Offset, Page, page, time_range


@dataclass(frozen=True)
class Kit:
    Conn: Any = ConnDep
    Limit: Any = Limit
    Offset: Any = Offset
    Cursor: Any = pagination.Cursor
    Page: Any = Page

    page = staticmethod(page)
    decode_cursor = staticmethod(pagination.decode_cursor)
    after = staticmethod(pagination.after)
    next_cursor = staticmethod(pagination.next_cursor)
    time_range = staticmethod(time_range)
    one_row = staticmethod(one_row)

    @staticmethod
    def not_found(what: str) -> Exception:
        return HTTPException(404, f"{what} not found")

    @staticmethod
    def media_url(sha256: str) -> str:
        return f"/v1/media/{sha256}"


KIT = Kit()
