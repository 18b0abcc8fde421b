"""Schema migrations: plain SQL files in services/migrations, applied by yoyo-migrations.

yoyo keeps the SQL as plain files (TimescaleDB calls such as create_hypertable read as they are),
records what was applied, and takes a lock so several workers starting at once apply each migration once.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from yoyo import get_backend, read_migrations

logger = logging.getLogger(__name__)
# yoyo logs every SQL step and prints result sets; our own log line says what was applied.
logging.getLogger("yoyo").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _backend_url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration; return the ids applied (empty when up to date)."""
    backend = get_backend(_backend_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    # yoyo prints the result rows of migration statements (create_hypertable's) to stdout
    with backend.lock(), contextlib.redirect_stdout(io.StringIO()):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [m.id for m in pending]
    if applied:
        logger.info("migrations applied", extra={"ids": ",".join(applied)})
    return applied


def pending_migrations(database_url: str) -> list[str]:
    backend = get_backend(_backend_url(database_url))
    return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
