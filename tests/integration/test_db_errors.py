"""'The database is down' vs 'the database refuses this': each SQLSTATE class ingest relies on, provoked
on the real server, classified by core.db.is_outage (hold and retry) or not (a per-message verdict)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from core.db import is_outage
from deploy.local_stack import LocalStack

pytestmark = pytest.mark.integration


def _raised(action: Callable[[], Any]) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        action()
    return caught.value


def test_a_connection_that_cannot_be_made_is_an_outage(stack) -> None:
    error = _raised(lambda: psycopg.connect(f"postgresql://x@{stack.pg_host}:1/x", connect_timeout=2))
    assert error.sqlstate is None and is_outage(error)


def test_an_administrator_terminating_the_session_is_an_outage(stack) -> None:
    with psycopg.connect(stack.database_url, autocommit=True) as victim, psycopg.connect(stack.database_url) as killer:
        pid = victim.info.backend_pid
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        error = _raised(lambda: victim.execute("SELECT 1"))
    assert is_outage(error), (type(error), error.sqlstate)


def test_a_cancelled_statement_is_an_outage(stack) -> None:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '50ms'")
        error = _raised(lambda: conn.execute("SELECT pg_sleep(2)"))
    assert error.sqlstate == "57014" and is_outage(error)


def test_a_deadlock_is_an_outage_to_retry(stack) -> None:
    with psycopg.connect(stack.database_url) as a, psycopg.connect(stack.database_url) as b:
        a.execute("SELECT pg_advisory_xact_lock(8001)")
        b.execute("SELECT pg_advisory_xact_lock(8002)")
        errors: list[psycopg.Error] = []

        def a_waits() -> None:
            try:
                a.execute("SELECT pg_advisory_xact_lock(8002)")
            except psycopg.Error as exc:
                errors.append(exc)

        thread = threading.Thread(target=a_waits)
        thread.start()
        try:
            b.execute("SELECT pg_sleep(0.2), pg_advisory_xact_lock(8001)")
        except psycopg.Error as exc:
            errors.append(exc)
        b.rollback()
        thread.join(10)
        a.rollback()
    [error] = errors
    assert error.sqlstate == "40P01" and is_outage(error)


def test_a_resource_limit_is_an_outage(stack) -> None:
    with psycopg.connect(LocalStack(stack).superuser_dsn(stack.pg_database), autocommit=True) as conn:
        conn.execute("SET temp_file_limit = '64kB'; SET work_mem = '64kB'")
        error = _raised(lambda: conn.execute("SELECT g FROM generate_series(1, 200000) g ORDER BY random()").fetchall())
    assert error.sqlstate == "53400" and is_outage(error)


@pytest.mark.parametrize(
    ("statement", "sqlstate"),
    [
        ("SELECT array_fill(0, ARRAY[200000000])", "54000"),  # program limit exceeded (like an index row too big)
        ("SELECT 'x'::integer", "22P02"),  # data exception
        ("SELECT * FROM no_such_table", "42P01"),  # undefined object
        ("CREATE TEMP TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1), (1)", "23505"),  # integrity
    ],
)
def test_what_the_database_refuses_is_not_an_outage(stack, statement: str, sqlstate: str) -> None:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        error = _raised(lambda: conn.execute(statement))
    assert error.sqlstate == sqlstate and not is_outage(error)


def test_a_value_the_client_cannot_send_is_not_an_outage(stack) -> None:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        error = _raised(lambda: conn.execute("SELECT %s::text", ("a\x00b",)))
    assert error.sqlstate is None and not is_outage(error)
