from __future__ import annotations

from datetime import UTC, datetime

import pytest

from device_adapters.contract import InboundMessage, Rejection
from device_adapters.golden import ROOT
from device_adapters.registry import FAMILIES, TOPIC_FILTERS, adapter_for, decode, metric_catalog


def test_every_adapter_folder_is_registered() -> None:
    folders = {p.parent.name for p in ROOT.glob("*/adapter.py")}
    assert folders <= {f.name for f in FAMILIES}, "register new families in device_adapters/registry.py"


def test_every_adapter_documents_its_contract() -> None:
    for family in FAMILIES:
        readme = (family.folder / "README.md").read_text()
        assert "## Topics" in readme and "## Examples" in readme, f"{family.name}/README.md lacks the contract sections"


def test_topic_filters_cover_each_family() -> None:
    assert set(TOPIC_FILTERS) == {f"{f.adapter.topic_root}/#" for f in FAMILIES}


def test_each_family_declares_its_tables_readers_and_simulator() -> None:
    from core.migrate import CAPABILITIES_DIR
    from services.auth.roles import Role

    for family in FAMILIES:
        assert family.tables, f"{family.name} stores nothing"
        # its tables are its own migrations' (<family>_NNNN_...) or those of a capability it provides
        own = sorted(family.migrations.glob("*.sql")) if family.migrations.is_dir() else []
        assert all(m.name.startswith(f"{family.name}_") for m in own), family.name
        shared = [m for c in family.provides for m in sorted((CAPABILITIES_DIR / c.value / "migrations").glob("*.sql"))]
        created = "".join(m.read_text() for m in own + shared)
        for table in family.tables:
            assert f"CREATE TABLE IF NOT EXISTS {table} (" in created, f"{family.name}: no migration creates {table}"
        for role in family.readers.roles:
            assert role == "*" or Role(role), f"{family.name}: unknown role {role!r}"
        assert family.simulator is None or family.simulator.device_families(1), family.name


def test_unknown_family_is_rejected_with_the_known_ones() -> None:
    msg = InboundMessage("weather/station-1/data", b"{}", datetime.now(UTC))
    with pytest.raises(Rejection) as caught:
        decode(msg)
    assert caught.value.code == "unknown_family"
    assert "ptipot" in caught.value.reason


def test_metric_catalog_points_at_real_record_fields() -> None:
    columns = {spec.record_type.table: spec.record_type.__dataclass_fields__ for f in FAMILIES for spec in f.storage}
    for (family, name), spec in metric_catalog().items():
        assert spec.column in columns[spec.table], f"{family}.{name}"
    assert adapter_for("bathy/x/telemetry").family == "bathy"


def test_the_fixture_family_wrote_no_sql_by_hand() -> None:
    """Its storage is a shared kind (a time series) and its migration is `tlab families ddl` output."""
    from device_adapters.ddl import table_ddl
    from device_adapters.registry import family

    beehive = family("beehive")
    migration = (beehive.migrations / "beehive_0001_hive_weights.sql").read_text()
    generated = "".join(table_ddl(spec) for spec in beehive.storage)
    body = "\n".join(line for line in migration.splitlines() if not line.startswith("--"))
    assert body.strip() == generated.strip()


def test_latest_state_upserts_only_a_newer_state_of_the_same_device() -> None:
    from device_adapters.capabilities.camera_detections.records import CameraEvent
    from device_adapters.storage import latest_state

    sql = latest_state(CameraEvent, key="event_id", version="updated_at").sql
    assert "ON CONFLICT (event_id) DO UPDATE SET" in sql
    assert (
        "WHERE camera_events.updated_at < EXCLUDED.updated_at AND camera_events.device_id = EXCLUDED.device_id" in sql
    )
    assert "device_id = EXCLUDED.device_id," not in sql and "event_id = EXCLUDED" not in sql
