"""Positions: WGS 84 (what GPS, maps and GeoJSON use) and Lambert-93 (EPSG:2154, what French municipal GIS
and staff use), converted by PROJ (pyproj) rather than by hand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pyproj import Transformer

# Lambert-93's domain of definition (metropolitan France and its waters, EPSG:2154's area of use): outside
# it the projection still computes, but the numbers mean nothing to anyone
L93_AREA = (-9.86, 41.15, 10.38, 51.56)  # west, south, east, north


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float

    @property
    def lambert93(self) -> tuple[float, float] | None:
        """(x, y) in metres, to the centimetre; None outside metropolitan France."""
        west, south, east, north = L93_AREA
        if not (west <= self.lon <= east and south <= self.lat <= north):
            return None
        x, y = _to_l93().transform(self.lon, self.lat)
        return round(x, 2), round(y, 2)


@cache
def _to_l93() -> Transformer:
    return Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
