"""What the services assume of every camera family (device_adapters/capabilities/camera_detections/README.md),
checked on every registered one, the suite's fixture families included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from device_adapters.capabilities import Capability
from device_adapters.capabilities.camera_detections import label_snapshot_shape
from device_adapters.capabilities.camera_detections.storage import STORAGE
from device_adapters.contract import InboundMessage
from device_adapters.family import Family
from device_adapters.registry import decode, providing

CAMERAS = providing(Capability.CAMERA_DETECTIONS)


def test_a_second_camera_family_is_registered_in_the_suite() -> None:
    assert len(CAMERAS) >= 2, [f.name for f in CAMERAS]


@pytest.mark.parametrize("family", CAMERAS, ids=lambda f: f.name)
def test_a_camera_family_stores_with_the_capabilitys_specs(family: Family) -> None:
    assert set(STORAGE) <= set(family.storage), f"{family.name}: declare storage=STORAGE (or include it)"


@pytest.mark.parametrize("family", CAMERAS, ids=lambda f: f.name)
def test_a_camera_familys_retained_snapshots_are_where_the_purge_looks(family: Family) -> None:
    """The purge and the database's triggers build a gateway's retained label snapshot topics from the
    gateway's family in ``devices``: the family's topic root must be its name, its retained shapes the
    capability's (or the broker would keep images the platform has purged)."""
    adapter = family.adapter
    assert adapter.topic_root == family.name
    assert set(getattr(adapter, "retained_shapes", ())) <= {label_snapshot_shape(adapter.topic_root)}


@pytest.mark.parametrize("family", providing(Capability.PERSONAL_IMAGES), ids=lambda f: f.name)
def test_personal_images_are_camera_images(family: Family) -> None:
    """Retention purges the camera capability's tables: a family whose personal images were stored elsewhere
    would keep them past the legal period. Until retention purges other tables, personal images are cameras'."""
    assert Capability.CAMERA_DETECTIONS in family.provides, family.name


@pytest.mark.parametrize("family", [f for f in CAMERAS if f.simulator], ids=lambda f: f.name)
def test_a_camera_familys_simulator_speaks_its_contract(family: Family) -> None:
    """A few ticks of its default simulator decode into the capability's records (events and their images)."""
    assert family.simulator is not None
    simulator = family.simulator.build_scenario("", **family.simulator.defaults())
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    kinds: set[str] = set()
    for n in range(12):
        at = now + timedelta(seconds=n)
        for message in simulator.tick(n, at):
            inbound = InboundMessage(message.topic, message.payload, at, dict(message.user_properties))
            kinds.update(type(r).__name__ for r in decode(inbound).records)
    assert {"CameraEvent", "MediaBlob"} <= kinds, kinds
