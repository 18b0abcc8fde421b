"""What the API hands to a family's own routes (``Family.api``: ``device_adapters/<family>/api.py``).

A family with data that the shared routes do not serve (the drone's missions, the cameras' detection
events) writes its routes in its folder as ``routes(kit) -> fastapi.APIRouter``. The kit carries everything
the platform provides, so the family imports nothing from the API's package (the layers hold): a
database connection, paging (cursor and offset), time ranges, 404s and media URLs. Every route of a
family is readable by the family's ``Readers`` (the API's policy derives it), audited if they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol


class ApiKit(Protocol):
    Conn: Any  # annotation of a route parameter: a pooled psycopg connection (rows as dicts)
    Limit: Any  # annotation of the page size query parameter
    Offset: Any  # annotation of the offset query parameter
    Cursor: Any  # annotation of the cursor query parameter
    Page: Any  # the generic page model: Page[Model]

    def page(
        self, items: list[Any], limit: int, offset: int, cursor: str | None = None, *, by_cursor: bool = False
    ) -> Any: ...

    def decode_cursor(self, cursor: str | None, kinds: Sequence[type], offset: int = 0) -> tuple[Any, ...] | None:
        """The key of the row a page starts after (a 422 for a cursor that is not one of this list)."""
        ...

    def after(self, columns: Sequence[str], key: tuple[Any, ...] | None, *, descending: bool) -> tuple[Any, dict]:
        """``AND (columns) < (key)`` as a psycopg SQL fragment, and its parameters."""
        ...

    def next_cursor(self, rows: Sequence[dict[str, Any]], limit: int, columns: Sequence[str]) -> str | None: ...

    def time_range(
        self, start: datetime | None, end: datetime | None, default: timedelta, max_span: timedelta = ...
    ) -> tuple[datetime, datetime]:
        """[start, end) with its default span; a 422 for a zone-less time, an empty range or a span longer
        than ``max_span`` (366 days unless the route says less)."""
        ...

    def not_found(self, what: str) -> Exception:
        """The 404 to raise for ``what``."""
        ...

    def media_url(self, sha256: str) -> str: ...

    one_row: Callable[[Any], Any]
