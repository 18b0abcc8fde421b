"""One row factory everywhere (issue 20, item 5): every connection of the platform is opened by core/db.py
(``connect``, or the API's pool), and its rows are dicts, so a function that takes a connection knows what it
reads. A production module that opens its own connection (``psycopg.connect``, a pool), or picks another row
factory for its cursors (``tuple_row``, ``row_factory=``), fails here.

Excepted, each with its reason: the list only shrinks.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.db import connect, scalar
from core.listening import listen_and_work
from core.settings import Settings
from core.worker_metrics import bounded_query

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("core", "services", "ingest", "tlab", "sim", "deploy", "device_adapters", "benchmarks")

# path (a file, or a folder ending in /) -> why it may open connections itself
ALLOWED: dict[str, str] = {
    "core/db.py": "the one place connections are opened (connect, the API's pool) and rows shaped (scalar)",
    "deploy/local_stack.py": "the superuser's bootstrap of the local stack (roles, databases), before any schema",
    "benchmarks/": "measurements with their own connections (superuser, owner), outside the platform",
}

OPENERS = {"psycopg.connect", "psycopg.Connection.connect", "psycopg.AsyncConnection.connect"}
POOLS = {"ConnectionPool", "AsyncConnectionPool", "NullConnectionPool", "AsyncNullConnectionPool"}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def connection_openers(source: str) -> list[int]:
    """Lines of ``source`` that open a psycopg connection or a pool (whatever the import's spelling)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> what it is (psycopg.connect, psycopg_pool.ConnectionPool...)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                aliases[name.asname or name.name] = name.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for name in node.names:
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        resolved = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        if resolved in OPENERS or resolved.rsplit(".", 1)[-1] in POOLS:
            found.append(node.lineno)
    return found


def _production_files() -> list[Path]:
    files = {p for root in ROOTS for p in (REPO / root).rglob("*.py")}
    return sorted(p for p in files if "__pycache__" not in p.parts)


def _allowed(relative: str) -> bool:
    return any(relative == key or (key.endswith("/") and relative.startswith(key)) for key in ALLOWED)


def test_the_scan_finds_every_spelling_of_a_connection_opened() -> None:
    source = """
import psycopg
import psycopg as pg
from psycopg import connect as opened, Connection
from psycopg_pool import ConnectionPool
import psycopg_pool

psycopg.connect("url")
pg.connect("url")
opened("url")
Connection.connect("url")
ConnectionPool("url")
psycopg_pool.AsyncConnectionPool("url")
connect("url")  # core.db's: not an opener
"""
    assert connection_openers(source) == [8, 9, 10, 11, 12, 13]


def test_no_production_module_opens_its_own_connection() -> None:
    found = {}
    for path in _production_files():
        relative = path.relative_to(REPO).as_posix()
        if _allowed(relative):
            continue
        lines = connection_openers(path.read_text(encoding="utf-8"))
        if lines:
            found[relative] = lines
    assert not found, f"open connections with core.db.connect (rows as dicts), not psycopg's own: {found}"


def test_the_allowed_exceptions_still_exist() -> None:
    for key in ALLOWED:
        assert (REPO / key).exists(), f"{key} is gone: remove it from ALLOWED"


def row_factory_choices(source: str) -> list[int]:
    """Lines of ``source`` that pick a row factory: an import from ``psycopg.rows``, a ``row_factory=``
    argument, or a ``row_factory`` attribute set."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            (isinstance(node, ast.ImportFrom) and node.module == "psycopg.rows")
            or (isinstance(node, ast.Call) and any(k.arg == "row_factory" for k in node.keywords))
            or (isinstance(node, ast.Attribute) and node.attr == "row_factory" and isinstance(node.ctx, ast.Store))
        ):
            found.add(node.lineno)
    return sorted(found)


def test_the_scan_finds_every_row_factory_chosen() -> None:
    source = """
from psycopg.rows import tuple_row
import psycopg

conn.cursor(row_factory=tuple_row)
conn.cursor(row_factory=psycopg.rows.namedtuple_row).execute("SELECT 1")
conn.row_factory = psycopg.rows.tuple_row
conn.cursor()  # the connection's: dicts
factory = conn.row_factory  # read, not chosen
"""
    assert row_factory_choices(source) == [2, 5, 6, 7]


def test_no_production_module_chooses_its_own_row_factory() -> None:
    found = {}
    for path in _production_files():
        relative = path.relative_to(REPO).as_posix()
        if relative == "core/db.py":
            continue
        lines = row_factory_choices(path.read_text(encoding="utf-8"))
        if lines:
            found[relative] = lines
    assert not found, f"rows are core.db's dicts (row['column'], core.db.scalar for one value): {found}"


# ---- against the real database ---------------------------------------------------------------------------
@pytest.mark.integration
def test_core_connect_gives_dicts_in_autocommit_and_takes_psycopgs_options(stack: Settings) -> None:
    with connect(stack.database_url, options="-c statement_timeout=4321") as conn:
        row = conn.execute("SELECT 1 AS one, 'two' AS two").fetchone()
        assert row == {"one": 1, "two": "two"}
        assert conn.autocommit
        assert scalar(conn, "SHOW statement_timeout") == "4321ms"
        assert scalar(conn, "SELECT 1 WHERE false") is None  # no row
        assert [r["n"] for r in conn.execute("SELECT generate_series(1, 3) AS n")] == [1, 2, 3]
    with connect(stack.database_url, autocommit=False) as conn:
        assert not conn.autocommit


@pytest.mark.integration
def test_a_workers_loop_and_its_gauges_read_dicts(stack: Settings) -> None:
    seen: list[Any] = []
    stop = threading.Event()

    def work(conn: psycopg.Connection[Any]) -> bool:
        seen.append(conn.execute("SELECT 42 AS answer").fetchone())
        stop.set()
        return False

    loop = threading.Thread(
        target=listen_and_work, args=(stack.database_url, (), work, stop), kwargs={"poll_s": 0.05, "name": "test"}
    )
    loop.start()
    loop.join(20)
    assert seen == [{"answer": 42}]
    assert bounded_query(stack.database_url, lambda conn: conn.execute("SELECT 7 AS n").fetchone()) == {"n": 7}
