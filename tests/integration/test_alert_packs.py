"""The default packs written to the real database, as ``tlab alerts`` writes them at start (issue 20, item 2):
a capability's rule once per providing family (the suite's second camera vendor included); a database that
holds the rules as the families' packs wrote them before the capability packs (migration 0033 applied, then
the load) ends with each rule once, under its name, owned by the capability's pack, and a person's edits kept.

Each test runs in a transaction it rolls back: the packs' rules watch every device of their families, and
the other tests' devices must not meet them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from device_adapters.capabilities import Capability
from device_adapters.registry import FAMILIES, family, family_names
from services.alerts.packs import capability_pack, default_rules, load_packs, stored_names
from services.alerts.rules import AnyRule

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "core" / "migrations"
MIGRATION = "0033_capability_rule_packs"
CAPABILITY_RULES = "SELECT name, source, definition->'scope'->>'family' AS family FROM alert_rules WHERE source = %s"


@pytest.fixture
def rolled_back(db: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    with db.transaction(force_rollback=True):
        yield db


def rows(conn: psycopg.Connection[Any], names: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of ``names`` and of every family's copy of them (``<name>@<family>``)."""
    copies = [f"{name}@{f.name}" for name in names for f in FAMILIES]
    found = conn.execute(
        "SELECT id, name, source, enabled, definition FROM alert_rules WHERE name = ANY(%s)", ([*names, *copies],)
    ).fetchall()
    return {r["name"]: r for r in found}


def definition(rule: AnyRule) -> dict[str, Any]:
    return rule.model_dump(mode="json", by_alias=True)


def old_pack_row(conn: psycopg.Connection[Any], rule: AnyRule, source: str, **changes: Any) -> int:
    """A rule as an older version's family pack wrote it (or, with ``source='api'``, as a person left it)."""
    stored = {**definition(rule), **changes}
    row = conn.execute(
        "INSERT INTO alert_rules (name, kind, definition, source) VALUES (%s, %s, %s, %s) RETURNING id",
        (rule.name, rule.kind, Jsonb(stored), source),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def test_a_capability_pack_is_written_once_per_providing_family(rolled_back) -> None:
    conn = rolled_back
    assert not conn.execute("SELECT 1 FROM alert_rules WHERE source LIKE 'pack:%'").fetchall()  # a new database
    assert load_packs(conn) > 0
    cameras = conn.execute(CAPABILITY_RULES, ("pack:camera_detections",)).fetchall()
    assert sorted(r["family"] for r in cameras) == sorted(family_names(Capability.CAMERA_DETECTIONS))
    assert {r["name"]: r["family"] for r in cameras}["camera-dumping-suspected@vigie"] == "vigie"
    drones = conn.execute(CAPABILITY_RULES, ("pack:pipe_inspection",)).fetchall()
    assert {r["family"] for r in drones} == set(family_names(Capability.PIPE_INSPECTION))
    assert "pipe-defect-grade-4" in {r["name"] for r in drones}
    assert not conn.execute("SELECT 1 FROM alert_rules WHERE source = 'pack:vigie'").fetchall()  # no copy of its own
    assert load_packs(conn) == 0  # written once: a restart writes nothing


def test_a_deployed_database_keeps_its_rules_once_under_their_names_and_its_edits(rolled_back) -> None:
    conn = rolled_back
    (camera,) = [r for r in default_rules(family("karroad")) if r.name == "camera-dumping-suspected"]
    drone = {r.name: r for r in default_rules(family("bathy"))}
    # as the families' packs wrote them: the cameras' rule in an older wording (the pack owns it: updated)
    ids = {"camera-dumping-suspected": old_pack_row(conn, camera, "pack:karroad", description="older wording")}
    for name, rule in drone.items():
        if name not in ("pipe-defect-grade-4", "drone-h2s-8h"):
            ids[name] = old_pack_row(conn, rule, "pack:bathy")
    # ...and two a person made theirs: the defect rule from grade 3, the 8-hour H2S disabled
    defect = drone["pipe-defect-grade-4"]
    ids[defect.name] = old_pack_row(conn, defect, "api", when=[{"attribute": "grade", "op": "gte", "value": 3}])
    ids["drone-h2s-8h"] = old_pack_row(conn, drone["drone-h2s-8h"], "api")
    conn.execute("UPDATE alert_rules SET enabled = false WHERE id = %s", (ids["drone-h2s-8h"],))
    before = rows(conn, list(ids))

    conn.execute((MIGRATIONS / f"{MIGRATION}.sql").read_text())
    load_packs(conn)
    after = rows(conn, list(ids))

    # every rule once, under its name, the same row (its alerts and silences name it); the second camera
    # vendor's copy is the one rule added
    assert set(after) == set(ids) | {"camera-dumping-suspected@vigie"}
    assert all(after[name]["id"] == ids[name] for name in ids)
    assert after["camera-dumping-suspected"]["source"] == "pack:camera_detections"
    assert after["camera-dumping-suspected"]["definition"] == definition(camera)  # the pack's wording again
    assert after["camera-dumping-suspected@vigie"]["source"] == "pack:camera_detections"
    moved = set(drone) - {"drone-battery-low", "pipe-defect-grade-4", "drone-h2s-8h"}
    assert {after[name]["source"] for name in moved} == {"pack:pipe_inspection"}
    assert after["drone-battery-low"]["source"] == "pack:bathy"  # the vehicle's own rule stays the family's
    # a person's edits are theirs: kept as they left them, and no pack copy beside them
    for name in ("pipe-defect-grade-4", "drone-h2s-8h"):
        assert {k: after[name][k] for k in ("source", "enabled", "definition")} == {
            k: before[name][k] for k in ("source", "enabled", "definition")
        }
    assert after["pipe-defect-grade-4"]["definition"]["when"][0]["value"] == 3
    assert load_packs(conn) == 0

    # the migration's rollback gives the rows back to the families' packs (the code before them writes them)
    conn.execute((MIGRATIONS / f"{MIGRATION}.rollback.sql").read_text())
    back = rows(conn, list(ids))
    assert back["camera-dumping-suspected"]["source"] == "pack:karroad"
    assert {back[name]["source"] for name in moved} == {"pack:bathy"}
    assert back["camera-dumping-suspected@vigie"]["source"] == "pack:camera_detections"  # no pack to go back to


def test_a_family_registered_first_later_does_not_take_a_deployed_copys_name(rolled_back) -> None:
    """The registry's order gives the pack's own name on a new database only: once written, each family's copy
    keeps its name (a camera vendor registered before the first one later gets `@<family>`)."""
    conn = rolled_back
    cameras = [family(name) for name in family_names(Capability.CAMERA_DETECTIONS)]
    load_packs(conn)
    written = {r.scope.family: r.name for r in capability_pack(Capability.CAMERA_DETECTIONS)}
    reordered = list(reversed(cameras))
    new_database = {r.scope.family: r.name for r in capability_pack(Capability.CAMERA_DETECTIONS, providers=reordered)}
    assert new_database != written  # on a new database the order would decide...
    kept = capability_pack(Capability.CAMERA_DETECTIONS, stored_names(conn), providers=reordered)
    assert {r.scope.family: r.name for r in kept} == written  # ...on this one, the rows do
