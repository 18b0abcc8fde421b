"""A benchmark's own database in the local stack, loaded once: what ``tlab bench lists`` and ``tlab bench
kpis`` share."""

from __future__ import annotations

import psycopg

from core.migrate import migrate
from core.settings import Settings


def needs_load(settings: Settings, table: str, rows: int, reload: bool) -> bool:
    """Start the local stack; True (with ``settings.pg_database`` created fresh and migrated) unless it already
    holds at least ``rows`` rows in ``table`` and ``reload`` is not asked."""
    from deploy.local_stack import LocalStack

    stack = LocalStack(settings)
    stack.up()
    database = settings.pg_database
    with psycopg.connect(stack.superuser_dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if exists and not reload:
        with psycopg.connect(settings.owner_database_url) as conn:
            made = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            found = conn.execute(f"SELECT count(*) FROM {table}").fetchone() if made and made[0] else None
        if found and found[0] >= rows:
            print("data already loaded (--reload to start over)")
            return False
    stack.ensure_database(database, fresh=True)
    migrate(settings)
    return True
