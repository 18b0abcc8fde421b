"""The default rule packs (services/alerts/packs.py): a capability's rules are copied once per family that
provides it (issue 20, item 2), so a second camera vendor or inspection drone gets them by declaring the
capability; each copy's name is unique and keeps what the database holds; a family whose readers exclude the
rule's service stops the load (fail closed). The loader against the real database:
tests/integration/test_alert_packs.py."""

from __future__ import annotations

import dataclasses

import pytest

from device_adapters.bathy import BathyAdapter
from device_adapters.capabilities import Capability
from device_adapters.capabilities.pipe_inspection.records import TELEMETRY_METRICS
from device_adapters.family import Readers
from device_adapters.registry import family, providing
from services.alerts.packs import StoredName, capability_pack, default_rules, family_pack, rule_names

CAMERA, DRONE = Capability.CAMERA_DETECTIONS, Capability.PIPE_INSPECTION
SOURCE = "pack:camera_detections"


def test_a_capability_rule_is_copied_once_per_providing_family_the_fixture_camera_included() -> None:
    rules = capability_pack(CAMERA)
    providers = [f.name for f in providing(CAMERA)]
    assert "vigie" in providers and len(providers) >= 2  # the suite's second camera vendor (tests/conftest.py)
    assert sorted(r.scope.family for r in rules) == sorted(providers)
    names = [r.name for r in rules]
    assert len(set(names)) == len(names)
    # the first provider keeps the pack's name (a deployed database's rule), the others are `<name>@<family>`
    assert names == ["camera-dumping-suspected"] + [f"camera-dumping-suspected@{f}" for f in providers[1:]]
    assert {(r.kind, r.service, r.event) for r in rules} == {("event", "cleanliness", "dumping_suspected")}  # type: ignore[union-attr]
    # the fixture family ships no copy of its own: what it gets is the capability's
    assert family_pack(family("vigie")) == []
    assert [r.name for r in default_rules(family("vigie"))] == ["camera-dumping-suspected@vigie"]


def test_the_pipe_rules_come_with_the_capability_and_the_battery_with_the_drone() -> None:
    own = {r.name for r in family_pack(family("bathy"))}
    shared = {r.name for r in capability_pack(DRONE) if r.scope.family == "bathy"}
    assert own == {"drone-battery-low"}
    assert {"pipe-defect-grade-4", "drone-h2s-short-term", "drone-o2-low", "drone-water-rising"} <= shared
    assert {r.name for r in default_rules(family("bathy"))} == own | shared


def test_a_drone_that_does_not_measure_a_gas_gets_no_rule_on_it() -> None:
    gases = {"h2s_ppm", "o2_pct", "ch4_pct_lel"}

    class NoGasSensor(BathyAdapter):
        metrics = tuple(m for m in TELEMETRY_METRICS if m.name not in gases)

    drone = dataclasses.replace(family("bathy"), adapter=NoGasSensor())
    rules = capability_pack(DRONE, providers=[drone])
    assert rules and not [r for r in rules if getattr(r, "metric", None) in gases]
    assert {"pipe-defect-grade-4", "drone-water-rising"} <= {r.name for r in rules}


def test_a_providing_family_whose_readers_exclude_the_rules_service_stops_the_load() -> None:
    """Fail closed: routing the alert anyway would show the family's data to a service that may not read it
    (issue 19); leaving the family out would leave its incidents unwatched, silently."""
    police_only = dataclasses.replace(family("vigie"), readers=Readers(("admin", "operator", "police"), audited=True))
    with pytest.raises(ValueError) as refused:
        capability_pack(CAMERA, providers=[family("karroad"), police_only])
    message = str(refused.value)
    assert "camera-dumping-suspected@vigie" in message and "'cleanliness' may not read vigie data" in message
    assert "camera_detections/alerts.toml" in message and "provides camera_detections" in message


def test_each_family_keeps_the_name_its_copy_has_in_the_database() -> None:
    fresh = rule_names("r", ["a", "b", "c"], {}, SOURCE)
    assert fresh == {"a": "r", "b": "r@b", "c": "r@c"}
    # registry order changed since (a new family listed first): the copies keep their names
    assert rule_names("r", ["new", "a", "b"], {"r": StoredName("a", SOURCE), "r@b": StoredName("b", SOURCE)},
                      SOURCE) == {"new": "r@new", "a": "r", "b": "r@b"}  # fmt: skip
    # the family that had the pack's name is no longer registered: its row keeps it, nobody takes it over
    assert rule_names("r", ["b"], {"r": StoredName("a", SOURCE)}, SOURCE) == {"b": "r@b"}
    # a person's edit (any scope): it stands for the first family's copy, as before capability packs
    assert rule_names("r", ["a", "b"], {"r": StoredName("*", "api")}, SOURCE) == {"a": "r", "b": "r@b"}
    assert rule_names("r", ["a", "b"], {"r": StoredName("b", "api")}, SOURCE) == {"a": "r@a", "b": "r"}
