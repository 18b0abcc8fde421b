"""Keyset (cursor) pagination: a page starts after the last row of the previous one, found through the
list's index, so page 1000 costs what page 1 costs (OFFSET reads and drops every row before it).

A list orders by a unique key (e.g. ``(last_received_at, id)`` descending); ``next_cursor`` is that key of
the page's last row, opaque to clients (base64url of a JSON array). ``offset`` still works for the first
pages and for existing clients; ``cursor`` and ``offset`` together are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from psycopg import sql

from services.api.schemas import invalid

Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Where the page starts: the `next_cursor` of the previous page (faster than `offset` deep down).",
    ),
]


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kinds: Sequence[type], offset: int = 0) -> tuple[Any, ...] | None:
    """The key values of ``cursor`` (typed as ``kinds``), or None for the first page; a 422 if it is not a
    cursor of this list."""
    if cursor is None:
        return None
    if offset:
        raise invalid("query", "cursor", "give cursor or offset, not both", cursor)
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong length")
        values = [_typed(kind, value) for kind, value in zip(kinds, raw, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("query", "cursor", f"not a cursor of this list ({exc})", cursor) from exc
    return tuple(values)


def _typed(kind: type, value: Any) -> Any:
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
        return value
    if kind is str and isinstance(value, str) and "\x00" not in value:
        value.encode("utf-8")  # a lone surrogate from a JSON escape raises (a ValueError): a 422
        return value
    raise ValueError(f"not a {kind.__name__}")


def after(columns: Sequence[str], key: tuple[Any, ...] | None, *, descending: bool) -> tuple[sql.Composable, dict]:
    """``AND (columns) < (key)`` (``>`` ascending) and its parameters; nothing for the first page. A row
    comparison is what lets PostgreSQL walk the index from the key on."""
    if key is None:
        return sql.SQL(""), {}
    names = [f"key{i}" for i in range(len(columns))]
    fragment = sql.SQL(" AND ({}) {} ({})").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL("<" if descending else ">"),
        sql.SQL(", ").join(sql.Placeholder(n) for n in names),
    )
    return fragment, dict(zip(names, key, strict=True))


def next_cursor(rows: Sequence[dict[str, Any]], limit: int, columns: Sequence[str]) -> str | None:
    """The cursor after a full page's last row; None when the page is not full (the last one)."""
    if len(rows) < limit:
        return None
    return encode_cursor([rows[-1][c] for c in columns])
