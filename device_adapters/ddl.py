"""The CREATE TABLE of a record, for a family's migration: ``tlab families ddl <family>`` prints it.

A migration is frozen once applied, so it is generated once and pasted, not generated at every run (a
table made from today's record would differ from the one an older database has). Types: datetime ->
timestamptz, str -> text, float -> double precision, int -> bigint, bool -> boolean, tuple[int, ...] ->
integer[], tuple[str, ...] -> text[]; a field without ``| None`` is NOT NULL. A time-keyed series becomes a
hypertable.

Only the family's *own* records get one: records stored into a capability's tables (a camera family's events
and snapshots, a drone's missions) land in tables the capability's migrations create whatever families are
registered (``device_adapters/capabilities/<name>/migrations``); the family writes no DDL for them.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from datetime import datetime
from types import NoneType, UnionType

from device_adapters.capabilities import STORAGE_MODULES, Capability
from device_adapters.family import Family
from device_adapters.storage import CopyTarget, StorageSpec, Upsert

_SQL_TYPES: dict[object, str] = {
    datetime: "timestamptz",
    str: "text",
    float: "double precision",
    int: "bigint",
    bool: "boolean",
}
_ARRAY_TYPES: dict[object, str] = {int: "integer[]", str: "text[]", float: "double precision[]"}


def _column(name: str, hint: object) -> str:
    nullable = False
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not NoneType]
        nullable = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[0] in _ARRAY_TYPES:
        sql_type = _ARRAY_TYPES[typing.get_args(hint)[0]]
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


def capability_tables() -> dict[str, Capability]:
    """Every table a capability's migrations create -> that capability (from its ``STORAGE``)."""
    found: dict[str, Capability] = {}
    for capability, module in STORAGE_MODULES.items():
        for spec in importlib.import_module(module).STORAGE:
            found[spec.record_type.table] = capability
    return found


def family_ddl(family: Family, chunk: str = "7 days") -> str:
    """What ``tlab families ddl`` prints for ``family``: which of its records go into a capability's tables (no DDL
    to write: the capability's migrations create them), then the CREATE TABLE of each table of its own records,
    or that it has none. SQL comments and statements only, so the whole output may be pasted."""
    shared = capability_tables()
    own: dict[str, list[StorageSpec]] = {}
    theirs: dict[Capability, list[str]] = {}
    for spec in family.storage:
        table: str = spec.record_type.table  # type: ignore[attr-defined]
        if table in shared:
            theirs.setdefault(shared[table], []).append(f"{spec.record_type.__name__} -> {table}")
        else:
            own.setdefault(table, []).append(spec)
    out: list[str] = []
    for capability, stored in theirs.items():
        out.append(
            f"-- {family.name} stores these records into the tables of the capability {capability.value},\n"
            f"-- created by its migrations (device_adapters/capabilities/{capability.value}/migrations/,\n"
            f"-- applied whatever families are registered): no DDL to write for them.\n"
            + "".join(f"--   {line}\n" for line in stored)
        )
        if capability not in family.provides:
            out.append(
                f"-- WARNING: {family.name} does not declare Capability.{capability.name} in provides=: the services\n"
                "-- that consume these tables select families by what they provide (add it to FAMILY).\n"
            )
    if not own:
        out.append(f"-- {family.name} has no records of its own: no migration to write.\n")
    for table, specs in own.items():
        first, *others = specs
        try:
            out.append(table_ddl(first, chunk))
        except TypeError as exc:
            out.append(f"-- {first.record_type.__name__}: {exc}\n")
            continue
        declared = {f.name for f in dataclasses.fields(first.record_type)}
        for spec in others:  # two records of one table (a mission's start and end): one CREATE TABLE
            missing = [f.name for f in dataclasses.fields(spec.record_type) if f.name not in declared]
            declared.update(missing)
            out.append(
                f"-- {spec.record_type.__name__} is stored into {table} too (one table for both): "
                + (f"add its columns {', '.join(missing)} above" if missing else "its columns are above")
                + ",\n-- and make nullable every column one of the records leaves empty\n"
            )
    return "\n".join(out)
