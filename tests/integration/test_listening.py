"""core/listening.py, the one LISTEN loop of the workers, against the real database: what it survives and
when it works. The broker-credentials owner runs on it since issue 20 (it must outlive any error, a file not
writable included, and write only when the registry notifies it)."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from core.listening import listen_and_work
from core.settings import Settings
from tests.conftest import wait_for


def _run(
    stack: Settings, channel: str, work: Any, **options: Any
) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
    """The loop in a thread; what escapes it is collected."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            listen_and_work(stack.database_url, channel, work, stop, poll_s=0.05, name="test", **options)
        except BaseException as exc:  # noqa: BLE001 - the test reads what escaped the loop
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, stop, errors


def test_a_loop_that_survives_any_error_comes_back_after_one(stack: Settings, uid: str) -> None:
    calls: list[int] = []
    ready = threading.Event()

    def work(conn: psycopg.Connection[Any]) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise PermissionError("the broker's files are not writable")  # not a database error
        return False

    thread, stop, errors = _run(stack, f"test_{uid}", work, survives=(Exception,), ready=ready, first_retry_s=0.05)
    try:
        wait_for(lambda: len(calls) >= 2 and ready.is_set(), what="the loop to come back after a file error")
        assert thread.is_alive() and not errors
    finally:
        stop.set()
        thread.join(10)


def test_a_database_loop_lets_other_errors_through(stack: Settings, uid: str) -> None:
    def work(conn: psycopg.Connection[Any]) -> bool:
        raise PermissionError("a bug, not an outage")

    thread, stop, errors = _run(stack, f"test_{uid}", work)
    thread.join(10)
    stop.set()
    assert [type(e) for e in errors] == [PermissionError]


@pytest.mark.parametrize("burst", [1, 5])
def test_a_loop_told_to_work_only_when_notified_is_not_woken_by_the_poll(stack: Settings, uid: str, burst: int) -> None:
    channel = f"test_{uid}"
    calls: list[int] = []
    ready = threading.Event()

    def work(conn: psycopg.Connection[Any]) -> bool:
        calls.append(1)
        return False

    thread, stop, _ = _run(stack, channel, work, only_when_notified=True, ready=ready)
    try:
        wait_for(ready.is_set, what="the loop to listen")
        assert not stop.wait(0.5)  # ten polls go by
        assert calls == []  # none of them was work
        with psycopg.connect(stack.database_url, autocommit=True) as conn, conn.transaction():
            for n in range(burst):  # one transaction: delivered together on commit (payloads differ: not merged)
                conn.execute("SELECT pg_notify(%s, %s)", (channel, str(n)))
        wait_for(lambda: calls, what="the NOTIFY to wake the loop")
        assert not stop.wait(0.5)
        assert calls == [1]  # a burst (one commit) is one call
    finally:
        stop.set()
        thread.join(10)
