"""A rule's service must be allowed to read the data of the family it watches (issue 19, item 9): an alert
shows that data (its trigger, its readings around the trigger), so routing it to a service that may not read
the family would leak it. The default packs keep the rule too."""

from __future__ import annotations

import pytest

from device_adapters.registry import FAMILIES
from services.alerts.packs import default_rules, platform_pack
from services.auth.policy import FAMILY_READERS
from services.auth.readers import routing_problem


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_default_pack_routes_to_a_reader_of_its_family(family) -> None:
    for rule in default_rules(family):  # its own pack's and its capabilities' copies for it
        assert routing_problem(rule.service, rule.scope.family) is None, rule.name


def test_the_platform_pack_routes_to_a_reader_of_every_family() -> None:
    rules = platform_pack()
    assert rules
    for rule in rules:
        assert routing_problem(rule.service, rule.scope.family) is None, rule.name


def test_a_service_that_may_not_read_the_family_is_refused_by_name() -> None:
    problem = routing_problem("green_spaces", "bathy")
    assert problem is not None and "green_spaces" in problem and "bathy" in problem
    assert routing_problem("sanitation", "karroad") is not None
    assert routing_problem("sanitation", "bathy") is None
    assert routing_problem("sanitation", "ptipot") is None  # open data: any service
    # every family: only a service that reads them all (sanitation may not read the cameras')
    assert routing_problem("operator", "*") is None
    assert "karroad" in (routing_problem("sanitation", "*") or "")
    # a family the platform does not know: its staff only
    assert routing_problem("green_spaces", "unknown-family") is not None
    assert set(FAMILY_READERS) == {f.name for f in FAMILIES}
