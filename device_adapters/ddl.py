"""The CREATE TABLE of a record, for a family's migration: ``tlab families ddl <family>`` prints it.

A migration is frozen once applied, so it is generated once and pasted, not generated at every run (a
table made from today's record would differ from the one an older database has). Types: datetime ->
timestamptz, str -> text, float -> double precision, int -> bigint, bool -> boolean, tuple[int, ...] ->
integer[]; a field without ``| None`` is NOT NULL. A time-keyed series becomes a hypertable.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from types import NoneType, UnionType

from device_adapters.storage import CopyTarget, StorageSpec, Upsert

_SQL_TYPES: dict[object, str] = {
    datetime: "timestamptz",
    str: "text",
    float: "double precision",
    int: "bigint",
    bool: "boolean",
}


def _column(name: str, hint: object) -> str:
    nullable = False
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not NoneType]
        nullable = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[0] is int:
        sql_type = "integer[]"
    elif hint in _SQL_TYPES:
        sql_type = _SQL_TYPES[hint]
    else:
        raise TypeError(f"{name}: no SQL type for {hint!r}; write this column by hand")
    return f"    {name:<12} {sql_type}{'' if nullable else ' NOT NULL'}"


def table_ddl(spec: StorageSpec, chunk: str = "7 days") -> str:
    """CREATE TABLE (idempotent) for the record of ``spec``, keyed as the spec stores it."""
    record = spec.record_type
    hints = typing.get_type_hints(record)
    columns = [_column(f.name, hints[f.name]) for f in dataclasses.fields(record)]
    key: tuple[str, ...] = spec.key if isinstance(spec, CopyTarget) else ()
    if isinstance(spec, Upsert) and getattr(spec, "key", None):
        key = spec.key  # type: ignore[attr-defined]
    lines = [*columns, f"    UNIQUE ({', '.join(key)})"] if key else columns
    table: str = record.table  # type: ignore[attr-defined]
    ddl = f"CREATE TABLE IF NOT EXISTS {table} (\n" + ",\n".join(lines) + "\n);\n"
    if "time" in key:
        ddl += f"SELECT create_hypertable('{table}', by_range('time', INTERVAL '{chunk}'), if_not_exists => TRUE);\n"
    return ddl
