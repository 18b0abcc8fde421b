"""Ptipot' permaculture garden sensors. Contract: README.md beside this file."""

from datetime import timedelta
from pathlib import Path

from device_adapters.capabilities import Capability
from device_adapters.family import Family, Readers, TimeBelow
from device_adapters.ptipot.adapter import PtipotAdapter
from device_adapters.ptipot.simulator import GardenFleet
from device_adapters.ptipot.storage import STORAGE
from device_adapters.simulation import SimOption, SimulatorSpec

SIMULATOR = SimulatorSpec(
    command="garden",
    help="Ptipot' garden sensors.",
    build=lambda devices, rate, count, prefix, seed, scenario: GardenFleet(
        devices=devices, readings=count, prefix=prefix, seed=seed, scenario=scenario
    ),
    options=(
        SimOption("devices", 5, "Fleet size."),
        SimOption("rate", 1.0, "Readings per second per device."),
        SimOption("count", 0, "Readings per device, 0 = forever."),
        SimOption("prefix", "sim-garden", "Device ids are <prefix>-01, <prefix>-02, ..."),
        SimOption("seed", 42, "Random seed (same seed, same payloads)."),
    ),
    scenarios={
        "frost": "air below 1 degC (30 min of history)",
        "drought": "dry soil, with 7 h of history",
        "silent": "1 h of readings ending 3 h ago, then nothing",
    },
    run_flag="gardens",
    run_default=5,
    run_processes=lambda n, seed: [["garden", "--devices", str(n), "--seed", str(seed)]] if n else [],
)

FAMILY = Family(
    adapter=PtipotAdapter(),
    storage=STORAGE,
    readers=Readers.everyone(),  # garden conditions are open data
    folder=Path(__file__).parent,
    provides=frozenset({Capability.READINGS}),
    simulator=SIMULATOR,
    reports_every=timedelta(minutes=15),  # README: "at least one reading every 15 minutes"
    # the dry soil of alerts.toml's garden-soil-dry rule (15 %, or the sensor's soil_dry_below_pct label)
    time_below=(
        TimeBelow("hours_soil_dry", "Temps de sol sec par capteur", "soil_vwc_pct", 15.0, "soil_dry_below_pct"),
    ),
)

__all__ = ["FAMILY", "PtipotAdapter"]
