"""Database access: every connection of the platform is opened here (``connect``, or the API's pool), and
its rows are dicts (``row["column"]``), whoever opened it: a function that takes a connection knows what it
reads. A single value is read with ``scalar``."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import DictRow, dict_row, scalar_row
from psycopg_pool import ConnectionPool

# The API's queries are parameter-sensitive: a time range decides which chunks a hypertable query reads
# and whether an index or a sort is the better plan. psycopg prepares a query run 5 times on a
# connection, and PostgreSQL then may switch it to a generic plan, made without the values: measured on
# the list benchmark, page 1 of a bucketed readings query went from 5 to 25 ms once a deep page had been
# asked on the same connection. Custom plans keep the parse saved and plan with the real values.
#
# JIT compilation is off: PostgreSQL compiles a plan whose estimated cost passes jit_above_cost, which the KPIs
# of a year of readings do; measured (tlab bench kpis, a year of 100 garden sensors), the compilation took 1.5 s
# of a 2.2 s query that runs in 0.7 s without it. The API's queries are bounded reads: they never win it back.
API_SESSION_OPTIONS = "-c plan_cache_mode=force_custom_plan -c jit=off"


def connect(database_url: str, *, autocommit: bool = True, **kwargs: Any) -> psycopg.Connection[DictRow]:
    """A connection whose rows are dicts, in autocommit unless told (a statement commits on its own; a
    ``with conn.transaction()`` block is one transaction). ``kwargs`` are psycopg's: ``connect_timeout``,
    ``options``, ``application_name``..."""
    return psycopg.connect(database_url, autocommit=autocommit, row_factory=dict_row, **kwargs)


def scalar(conn: psycopg.Connection[Any], query: QueryNoTemplate, params: Params | None = None) -> Any:
    """The first column of the first row of ``query`` (a count, a lock taken or not, an id ``RETURNING``);
    None when it returns no row. A single value has no column name worth writing, hence its own cursor."""
    with conn.cursor(row_factory=scalar_row) as cur:
        return cur.execute(query, params).fetchone()


def create_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 10, statement_timeout_s: float | None = None
) -> ConnectionPool[Any]:
    """The API's pool. With ``statement_timeout_s``, every statement on its connections is cancelled by
    the server past that time (a caller may raise it for one checkout with :func:`set_statement_timeout`;
    the pool puts the default back when the connection returns), so no request holds a connection for
    longer: ten connections cannot be starved by ten slow queries."""
    options = API_SESSION_OPTIONS
    if statement_timeout_s is not None:
        options += f" -c statement_timeout={_ms(statement_timeout_s)}"
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True, "options": options},
        open=False,
        check=ConnectionPool.check_connection,
        reset=_reset_session if statement_timeout_s is not None else None,
        timeout=5,
    )
    pool.open(wait=False)
    return pool


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def set_statement_timeout(conn: psycopg.Connection[Any], seconds: float) -> None:
    """Statements on ``conn`` are cancelled after ``seconds`` (until the pool resets the connection)."""
    conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{_ms(seconds)}ms",))


def _reset_session(conn: psycopg.Connection[Any]) -> None:
    conn.execute("RESET statement_timeout")  # back to the connection's default (its options)


def one_row(cursor: psycopg.Cursor[Any]) -> Any:
    """The single row of a query that always returns one (aggregates, RETURNING): None would be a bug."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("query returned no row")
    return row


# SQLSTATE classes that mean "the database cannot take anything right now", not "it refuses this row":
# 08 connection exception, 40 transaction rollback (serialization failure, deadlock: retry), 53
# insufficient resources (disk full, out of memory, too many connections), 57 operator intervention
# (admin shutdown, crash shutdown, cannot connect now, query canceled), 58 system error (I/O), XX
# internal error (corruption). Everything else (22 data exception, 23 integrity, 42 syntax or undefined
# object, 54 program limit exceeded such as an index row too large, ...) is about the statement and its
# values: retrying the same row cannot help, so it is a per-message verdict. psycopg files 40, 53, 54,
# 57 and 58 all under OperationalError, which is why the class is read from the SQLSTATE, not the type.
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58", "XX"})


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unavailable (hold and retry) rather than refusing data."""
    if not isinstance(exc, psycopg.Error):
        return False
    if exc.sqlstate is None:
        # raised by the client: a lost or closed connection is an outage; a value the client itself
        # refuses to send (NUL in text, DataError) is about the data
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return exc.sqlstate[:2] in OUTAGE_SQLSTATE_CLASSES
