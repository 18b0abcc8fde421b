from __future__ import annotations

from datetime import UTC, datetime

import pytest

from device_adapters.contract import InboundMessage, Rejection
from device_adapters.golden import ROOT
from device_adapters.registry import ADAPTERS, TOPIC_FILTERS, adapter_for, decode, metric_catalog


def test_every_adapter_folder_is_registered() -> None:
    folders = {p.parent.name for p in ROOT.glob("*/adapter.py")}
    assert folders == {a.family for a in ADAPTERS.values()}, "register new families in device_adapters/registry.py"


def test_every_adapter_documents_its_contract() -> None:
    for family in {a.family for a in ADAPTERS.values()}:
        readme = (ROOT / family / "README.md").read_text()
        assert "## Topics" in readme and "## Examples" in readme, f"{family}/README.md lacks the contract sections"


def test_topic_filters_cover_each_family() -> None:
    assert set(TOPIC_FILTERS) == {"ptipot/#", "bathy/#", "karroad/#"}


def test_unknown_family_is_rejected_with_the_known_ones() -> None:
    msg = InboundMessage("weather/station-1/data", b"{}", datetime.now(UTC))
    with pytest.raises(Rejection) as caught:
        decode(msg)
    assert caught.value.code == "unknown_family"
    assert "ptipot" in caught.value.reason


def test_metric_catalog_points_at_real_record_fields() -> None:
    from device_adapters.contract import DroneTelemetry, GardenReading

    columns = {
        GardenReading.table: GardenReading.__dataclass_fields__,
        DroneTelemetry.table: DroneTelemetry.__dataclass_fields__,
    }
    for (family, name), spec in metric_catalog().items():
        assert spec.column in columns[spec.table], f"{family}.{name}"
    assert adapter_for("bathy/x/telemetry").family == "bathy"
