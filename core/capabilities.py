"""What the connected TimescaleDB can do.

The Apache-2 build (Debian's, and ours when built from source) has hypertables, time_bucket and
drop_chunks, but not the TSL features: compression, continuous aggregates, retention and other
policies. The TSL functions exist in both builds' catalogs but fail under the Apache license, so
the license setting, not the catalog, tells them apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from core.db import scalar


@dataclass(frozen=True)
class DatabaseCapabilities:
    postgres_version: str
    timescaledb_version: str | None
    timescaledb_license: str | None
    hypertables: bool
    compression: bool
    continuous_aggregates: bool
    retention_policies: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect(conn: psycopg.Connection[Any]) -> DatabaseCapabilities:
    pg_version = scalar(conn, "SHOW server_version")
    timescaledb = scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    if timescaledb is None:
        return DatabaseCapabilities(pg_version, None, None, False, False, False, False)
    license_ = scalar(conn, "SELECT current_setting('timescaledb.license', true)")
    tsl = license_ == "timescale"
    return DatabaseCapabilities(
        postgres_version=pg_version,
        timescaledb_version=timescaledb,
        timescaledb_license=license_,
        hypertables=True,
        compression=tsl,
        continuous_aggregates=tsl,
        retention_policies=tsl,
    )
