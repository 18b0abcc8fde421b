"""Keyset (cursor) pagination: a page starts after the last row of the previous one, found through the
list's index, so page 1000 costs what page 1 costs (OFFSET reads and drops every row before it).

A list orders by a unique key (e.g. ``(last_received_at, id)`` descending); ``next_cursor`` is that key of
the page's last row, opaque to clients (base64url of a JSON array). ``offset`` still works for the first
pages and for existing clients; ``cursor`` and ``offset`` together are refused.

A cursor is bound to the list that issued it (its method, path and filters, hashed into the cursor):
many lists share a key's shape (a time, or a time and an id), and a readings cursor given to a mission's
frames, or a raw readings cursor to the bucketed list, would otherwise start that list at a point it
never gave. The guard (``services/api/guard.py``) names the list of the request being served; ``limit``
may change from page to page.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import json
from collections.abc import Iterable, Sequence
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


PAGE_PARAMETERS = frozenset({"cursor", "offset", "limit"})


def list_name(method: str, path: str, params: Iterable[tuple[str, Any]]) -> str:
    """Which list a request reads, for its cursors: method, path and filters, not the page's place or
    size. A raw readings cursor is not a bucketed one's, nor one of another device, metric or window."""
    filters = sorted((str(k), str(v)) for k, v in params if k not in PAGE_PARAMETERS)
    return f"{method.upper()} {path} {filters}"


_LIST: contextvars.ContextVar[str] = contextvars.ContextVar("tlab_cursor_list", default="")


def bind_cursors(list_name: str) -> contextvars.Token[str]:
    """Cursors made and read from now on (in this request) belong to ``list_name``."""
    return _LIST.set(list_name)


def unbind_cursors(token: contextvars.Token[str]) -> None:
    _LIST.reset(token)


def _list_tag(list_name: str | None = None) -> str:
    name = _LIST.get() if list_name is None else list_name
    return hashlib.sha256(name.encode("utf-8", "backslashreplace")).hexdigest()[:8]


def encode_cursor(values: Sequence[Any], list_name: str | None = None) -> str:
    """The cursor after ``values``, for the list being served, or outside a request for ``list_name`` (made
    by :func:`list_name` from the request the cursor is meant for)."""
    plain = [_list_tag(list_name), *(v.isoformat() if isinstance(v, datetime) else v for v in values)]
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
        if not isinstance(raw, list) or len(raw) != len(kinds) + 1:
            raise ValueError("wrong length")
        if raw[0] != _list_tag():
            raise ValueError("it was issued by another list")
        values = [_typed(kind, value) for kind, value in zip(kinds, raw[1:], strict=True)]
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
