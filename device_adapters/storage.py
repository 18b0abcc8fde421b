"""How a family's records are stored, declared beside them and executed by ingest (ingest/writer.py).

A family declares, for each record type, one of these specs and its tables as migrations in its folder
(``<family>/migrations/``); ingest runs the specs for every registered family, so adding a family adds
no line to ingest. The kinds that cover most devices need no SQL beyond the table:

- ``CopyTarget``: a series (readings, telemetry, frames): COPY through a staging table, one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` per batch, and a conflict check (``time_series``
  builds the usual one, keyed on device and time);
- ``latest_state``: an object whose newer state replaces the older (a detection event), upserted on its
  key and a version column: no SQL either;
- ``Upsert``: state whose conflict rules are the family's own (a mission merged from its start and end
  messages): the family writes the statement.

Records that name an object a device owns (a mission, a detection event) declare it with ``Owned``:
ingest refuses a message that names another device's object (``foreign_object``).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Owned:
    """The object a record belongs to: ``table.key`` holds it with the ``device_id`` that created it."""

    table: str
    key: str
    kind: str  # for the reason of a refusal: "mission", "camera event"


@dataclass(frozen=True)
class CopyTarget:
    """A table filled by COPY through a staging table, deduplicated on its unique ``key``.

    A staged row whose key is already stored is a *duplicate* when its ``compared`` columns are equal
    (a redelivery: dropped) and a *conflict* when they differ (two different readings claiming the same
    instant: the message is dead-lettered, never silently dropped). ``msg`` in the staging table maps
    a row back to its message in the batch.
    """

    record_type: type
    table: str
    key: tuple[str, ...]
    compared: tuple[str, ...] = ()

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.record_type))

    @property
    def stage(self) -> str:
        return f"stage_{self.table}"

    def create_stage_sql(self) -> str:
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} "
            f"(LIKE {self.table} INCLUDING DEFAULTS, msg integer NOT NULL) ON COMMIT DELETE ROWS"
        )

    def copy_sql(self) -> str:
        return f"COPY {self.stage} ({', '.join(self.columns)}, msg) FROM STDIN"

    def merge_sql(self) -> str:
        cols = ", ".join(self.columns)
        return f"INSERT INTO {self.table} ({cols}) SELECT {cols} FROM {self.stage} ON CONFLICT DO NOTHING"

    def conflicts_sql(self) -> str:
        """Staged rows whose key is stored with other values (run after the merge)."""
        on = " AND ".join(f"t.{k} = s.{k}" for k in self.key)
        left = ", ".join(f"t.{c}" for c in self.compared)
        right = ", ".join(f"s.{c}" for c in self.compared)
        keys = ", ".join(f"s.{k}" for k in self.key)
        return (
            f"SELECT DISTINCT s.msg, {keys} FROM {self.stage} s JOIN {self.table} t ON {on} "
            f"WHERE ROW({left}) IS DISTINCT FROM ROW({right})"
        )

    def row(self, record: Any, msg: int) -> tuple[Any, ...]:
        return (*(getattr(record, c) for c in self.columns), msg)

    def __hash__(self) -> int:  # cached_property needs a __dict__; frozen dataclasses keep hashing by fields
        return hash((self.record_type, self.table, self.key, self.compared))


def _others(record_type: type, *key: str) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record_type) if f.name not in key)


def time_series(record_type: type, *key: str) -> CopyTarget:
    """A series keyed on (device_id, time) by default: the same key again with the same values is a
    redelivery, with other values a conflict."""
    key = key or ("device_id", "time")
    compared = tuple(f.name for f in dataclasses.fields(record_type) if f.name not in key)
    return CopyTarget(record_type, record_type.table, key, compared)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Upsert:
    """A record written row by row with the family's own statement (named parameters = record fields);
    ``key``: the columns its ON CONFLICT names (for ``tlab families ddl``)."""

    record_type: type
    sql: str
    key: tuple[str, ...] = ()


def latest_state(record_type: type, key: str, version: str) -> Upsert:
    """An object whose newer state replaces the older one (a detection event: new -> update -> end): one row
    per ``key``, overwritten only by a state with a greater ``version`` (a redelivered or late one never
    undoes a newer one) and only by the device that created it."""
    table: str = record_type.table  # type: ignore[attr-defined]
    columns = [f.name for f in dataclasses.fields(record_type)]
    updated = [c for c in columns if c not in (key, "device_id")]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(f'%({c})s' for c in columns)}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in updated)} "
        f"WHERE {table}.{version} < EXCLUDED.{version} AND {table}.device_id = EXCLUDED.device_id"
    )
    return Upsert(record_type, sql, (key,))


StorageSpec = CopyTarget | Upsert
