"""Ptipot' storage: a plain series (no SQL beyond its table, migrations/)."""

from __future__ import annotations

from device_adapters.ptipot.records import GardenReading
from device_adapters.storage import StorageSpec, time_series

STORAGE: tuple[StorageSpec, ...] = (time_series(GardenReading),)
