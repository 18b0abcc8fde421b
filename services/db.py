"""Database access for services: one psycopg connection pool per process, rows as dicts."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> ConnectionPool[Any]:
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        check=ConnectionPool.check_connection,
        timeout=5,
    )
    pool.open(wait=False)
    return pool


def one_row(cursor: psycopg.Cursor[Any]) -> Any:
    """The single row of a query that always returns one (aggregates, RETURNING): None would be a bug."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("query returned no row")
    return row
