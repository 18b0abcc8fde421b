"""``tlab families list | ddl | golden``: what a family author reads (docs/adding-a-device.md).

A family whose records are a capability's (a camera vendor, a drone) writes no migration: ``ddl`` says so and
prints only the tables of its own records (it printed the capability's tables, one with a column it could not
type, and the missions table twice). ``list`` says what each family provides. ``golden`` prints a case's
expected file as the golden test reads it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from device_adapters.ddl import capability_tables, family_ddl, table_ddl
from device_adapters.golden import GoldenCase, all_cases, expected_file
from device_adapters.registry import FAMILIES, family
from device_adapters.storage import Upsert, time_series
from tlab.cli import app


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, ["families", *args])
    assert result.exit_code == 0, result.output
    return result.stdout  # what a redirection into a file would keep (golden names its file on stderr)


@pytest.mark.parametrize("name", ["vigie", "karroad", "bathy"])
def test_ddl_of_a_family_storing_into_a_capabilitys_tables_prints_none_of_them(name: str) -> None:
    found = family(name)
    out = cli("ddl", name)
    assert "CREATE TABLE" not in out and "no SQL type" not in out
    capability = next(iter({capability_tables()[t] for t in found.tables}))
    assert f"the capability {capability.value}" in out and "no DDL to write" in out
    assert all(f"-> {t}" in out for t in found.tables)
    assert f"{name} has no records of its own: no migration to write." in out
    assert all(line.startswith("--") for line in out.splitlines() if line)  # safe to paste as it is


def test_ddl_of_a_family_with_tables_of_its_own_is_its_migration() -> None:
    beehive = family("beehive")
    migration = (beehive.migrations / "beehive_0001_hive_weights.sql").read_text()
    body = "\n".join(line for line in migration.splitlines() if not line.startswith("--"))
    assert cli("ddl", "beehive").strip() == body.strip()


def test_ddl_of_a_family_with_capability_records_and_its_own_prints_only_its_own() -> None:
    vigie, beehive = family("vigie"), family("beehive")
    mixed = dataclasses.replace(vigie, storage=vigie.storage + beehive.storage)
    out = family_ddl(mixed)
    assert out.count("CREATE TABLE") == 1 and "CREATE TABLE IF NOT EXISTS hive_weights (" in out
    assert "-> camera_events" in out and "no records of its own" not in out and "WARNING" not in out


def test_ddl_warns_a_family_storing_into_a_capability_it_does_not_declare() -> None:
    silent = dataclasses.replace(family("vigie"), provides=frozenset())
    assert "WARNING: vigie does not declare Capability.CAMERA_DETECTIONS in provides=" in family_ddl(silent)


@dataclass(frozen=True)
class Opened:
    table: ClassVar[str] = "test_visits"
    visit_id: str
    device_id: str
    opened_at: datetime
    zones: tuple[str, ...]


@dataclass(frozen=True)
class Closed:
    table: ClassVar[str] = "test_visits"
    visit_id: str
    device_id: str
    closed_at: datetime
    status: str


def test_two_records_of_one_own_table_get_one_create_table_and_the_missing_columns_named() -> None:
    two = dataclasses.replace(
        family("beehive"), storage=(Upsert(Opened, "-", ("visit_id",)), Upsert(Closed, "-", ("visit_id",)))
    )
    out = family_ddl(two)
    assert out.count("CREATE TABLE IF NOT EXISTS test_visits (") == 1
    assert "Closed is stored into test_visits too (one table for both): add its columns closed_at, status" in out
    assert "zones        text[] NOT NULL" in out  # a tuple of strings is a column, not a hole to fill by hand


def test_a_float_tuple_is_an_array_column() -> None:
    @dataclass(frozen=True)
    class Profile:
        table: ClassVar[str] = "test_profiles"
        time: datetime
        device_id: str
        depths_m: tuple[float, ...] | None

    assert "depths_m     double precision[]," in table_ddl(time_series(Profile))


def test_list_says_what_each_family_provides_and_whose_tables_it_fills() -> None:
    lines = cli("list").splitlines()
    assert {line.split()[0] for line in lines if not line.startswith(" ")} == {f.name for f in FAMILIES}
    for f in FAMILIES:
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{f.name} "))
        entry = "\n".join(lines[start : start + 5])
        assert f"provides: {', '.join(sorted(c.value for c in f.provides))}" in entry, entry
    vigie = "\n".join(lines[next(i for i, line in enumerate(lines) if line.startswith("vigie ")) :][:5])
    assert "tables of camera_detections: camera_events, camera_snapshots, camera_label_snapshots" in vigie
    assert "routes of camera_detections" in vigie
    beehive = "\n".join(lines[next(i for i, line in enumerate(lines) if line.startswith("beehive ")) :][:5])
    assert "tables its own: hive_weights" in beehive


def unboxed(output: str) -> str:
    """A CLI error's text without rich's box and line wraps."""
    return " ".join(line.strip().strip("│╭╰─").strip() for line in output.splitlines())


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: f"{c.family}/{c.name}")
def test_golden_prints_what_the_case_folder_holds(case: GoldenCase) -> None:
    name, content = expected_file(case)
    if case.expected_error is None:
        assert name == "expected.json" and json.loads(content) == case.expected_records
    else:
        code, words = case.expected_error
        assert name == "expected.err" and content.startswith(f"{code} ") and words in content


def test_golden_writes_the_expected_file_and_refuses_to_leave_a_contradiction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vigie = family("vigie")
    shutil.copytree(vigie.folder / "testdata", tmp_path / "testdata")
    for case in ("valid_snapshot", "invalid_time_in_seconds"):
        for expected in (tmp_path / "testdata" / case).glob("expected.*"):
            expected.unlink()
    monkeypatch.setattr("device_adapters.registry.family", lambda name: dataclasses.replace(vigie, folder=tmp_path))
    assert cli("golden", "vigie", "valid_snapshot").startswith("[\n")  # printed, nothing written
    assert not list((tmp_path / "testdata" / "valid_snapshot").glob("expected.*"))
    cli("golden", "vigie", "valid_snapshot", "--write")
    written = json.loads((tmp_path / "testdata" / "valid_snapshot" / "expected.json").read_text())
    assert written == json.loads((vigie.folder / "testdata" / "valid_snapshot" / "expected.json").read_text())
    cli("golden", "vigie", "invalid_time_in_seconds", "--write")
    err = (tmp_path / "testdata" / "invalid_time_in_seconds" / "expected.err").read_text()
    code = (vigie.folder / "testdata" / "invalid_time_in_seconds" / "expected.err").read_text().split()[0]
    assert err.startswith(f"{code} ")
    # a case that decodes now but still has its expected.err: the author decides, the command does not
    (tmp_path / "testdata" / "valid_snapshot" / "expected.err").write_text("not_jpeg whatever\n")
    refused = CliRunner().invoke(app, ["families", "golden", "vigie", "valid_snapshot", "--write"])
    # the message is boxed and wrapped at the terminal's width (the temporary path's length moves the wrap)
    assert refused.exit_code != 0 and "remove it first" in unboxed(refused.output)
    missing = CliRunner().invoke(app, ["families", "golden", "vigie", "no_such_case"])
    assert missing.exit_code != 0 and "valid_snapshot" in missing.output
