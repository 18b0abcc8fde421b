"""Positions in WGS 84 and Lambert-93 (core/geo.py), and the simulators' places (sim/credentials.py)."""

from __future__ import annotations

import pytest

from core.geo import Position
from sim.credentials import SIM_CENTRE, sim_position


def test_lambert93_holds_its_definition() -> None:
    """EPSG:2154's definition: its origin (46.5° N, 3° E) is at its false easting and northing, its central
    meridian (3° E) is x = 700,000 m at every latitude, and north is up along it."""
    assert Position(46.5, 3.0).lambert93 == (700000.0, 6600000.0)
    north, south = Position(50.0, 3.0).lambert93, Position(43.0, 3.0).lambert93
    assert north is not None and south is not None
    assert north[0] == pytest.approx(700000, abs=0.01) and south[0] == pytest.approx(700000, abs=0.01)
    assert north[1] > 6600000 > south[1]
    west, east = Position(46.5, 1.0).lambert93, Position(46.5, 5.0).lambert93
    assert west is not None and east is not None and west[0] < 700000 < east[0]


@pytest.mark.parametrize(("lat", "lon"), [(40.7, -74.0), (-21.1, 55.5), (52.0, 3.0), (46.5, 11.0)])
def test_outside_metropolitan_france_there_is_no_lambert93(lat: float, lon: float) -> None:
    assert Position(lat, lon).lambert93 is None


def test_a_simulated_device_stands_near_the_centre_always_at_the_same_place() -> None:
    places = [sim_position(f"sim-garden-{i:02d}") for i in range(50)]
    assert places[3] == sim_position("sim-garden-03")
    assert len({(p["lat"], p["lon"]) for p in places}) == 50
    for p in places:
        assert abs(p["lat"] - SIM_CENTRE[0]) <= 0.018 and abs(p["lon"] - SIM_CENTRE[1]) <= 0.0275
