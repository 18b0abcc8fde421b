"""Schema migrations: plain SQL files in core/migrations (what every family shares), in each capability's
folder (device_adapters/capabilities/<capability>/migrations: the tables the families that provide it
share and the services read, applied whatever families are registered) and in each family's folder
(device_adapters/<family>/migrations: its own tables), applied by yoyo-migrations.

yoyo keeps the SQL as plain files (TimescaleDB calls such as create_hypertable read as they are),
records what was applied, and takes a lock so several workers starting at once apply each migration once.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from psycopg import sql
from yoyo import get_backend, read_migrations

from core.db import connect
from core.settings import Settings
from device_adapters import capabilities
from device_adapters.registry import FAMILIES

logger = logging.getLogger(__name__)
# yoyo logs every SQL step and prints result sets; our own log line says what was applied.
logging.getLogger("yoyo").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CAPABILITIES_DIR = Path(capabilities.__file__).resolve().parent


def migration_sources() -> list[str]:
    """The core's migrations, every capability's, then every registered family's."""
    return [
        str(MIGRATIONS_DIR),
        *(str(d) for d in sorted(CAPABILITIES_DIR.glob("*/migrations")) if d.is_dir()),
        *(str(f.migrations) for f in FAMILIES if f.migrations.is_dir()),
    ]


def _backend_url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


# Tables the running processes may only append to and read: no UPDATE, DELETE or TRUNCATE, and, since
# they do not own them, no ALTER (a trigger disabled) or DROP either.
APPEND_ONLY_TABLES = ("audit_log",)


def apply_migrations(database_url: str, runtime_role: str | None = None) -> list[str]:
    """Apply every pending migration; return the ids applied (empty when up to date). ``database_url``
    is the schema owner's; ``runtime_role`` (the role the processes log in as) is then granted what it
    needs on every table: read and write data, append only to the append-only tables, nothing else."""
    backend = get_backend(_backend_url(database_url))
    migrations = read_migrations(*migration_sources())
    # yoyo prints the result rows of migration statements (create_hypertable's) to stdout
    with backend.lock(), contextlib.redirect_stdout(io.StringIO()):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [m.id for m in pending]
    if applied:
        logger.info("migrations applied", extra={"ids": ",".join(applied)})
    if runtime_role:
        grant_runtime(database_url, runtime_role)
    return applied


def grant_runtime(database_url: str, role: str) -> None:
    with connect(database_url) as conn, conn.transaction():
        who = sql.Identifier(role)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(who))
        conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who))
        for table in APPEND_ONLY_TABLES:
            conn.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(sql.Identifier(table), who))


def _pending(database_url: str) -> list[str]:
    backend = get_backend(_backend_url(database_url))
    return [m.id for m in backend.to_apply(read_migrations(*migration_sources()))]


class SchemaBehind(RuntimeError):
    """Migrations are pending: `tlab migrate` (the schema owner's job) has not run yet."""


def require_current_schema(database_url: str) -> None:
    """Raise SchemaBehind if migrations are pending. The running processes never migrate: they log in as
    a role that owns nothing, so they wait for `tlab migrate` (``./lab run``, a Kubernetes Job)."""
    pending = _pending(database_url)
    if pending:
        raise SchemaBehind(f"migrations pending ({', '.join(pending)}): run `tlab migrate`")


def migrate(settings: Settings) -> list[str]:
    """``tlab migrate``: as the schema owner, then grants for the runtime role."""
    return apply_migrations(settings.owner_database_url, settings.pg_user)
