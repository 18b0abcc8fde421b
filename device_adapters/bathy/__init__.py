"""Bathy's pipe-inspection drone. Contract: README.md beside this file. It provides the pipe inspection
(device_adapters/capabilities/pipe_inspection: its records, tables and storage) and the telemetry as readings."""

from pathlib import Path

from device_adapters.bathy.adapter import BathyAdapter
from device_adapters.bathy.simulator import DroneMission
from device_adapters.capabilities import Capability
from device_adapters.capabilities.pipe_inspection.storage import STORAGE
from device_adapters.family import Family, Readers
from device_adapters.simulation import SimOption, SimulatorSpec

SIMULATOR = SimulatorSpec(
    command="drone",
    help="Bathy pipe-inspection drone: missions with telemetry and rendered frames.",
    build=lambda rate, frame_every, length_m, device, count, seed, scenario: DroneMission(
        device_id=device,
        seed=seed,
        length_m=length_m,
        frame_every=frame_every,
        missions=count,
        rate_hz=rate,
        scenario=scenario,
    ),
    options=(
        SimOption("rate", 5.0, "Telemetry messages per second."),
        SimOption("frame_every", 5, "One video frame per N telemetry messages."),
        SimOption("length_m", 60.0, "Pipe length."),
        SimOption("device", "sim-bathy-01", "Drone id."),
        SimOption("count", 0, "Missions to fly, 0 = forever."),
        SimOption("seed", 42, "Random seed (same seed, same payloads)."),
    ),
    scenarios={
        "gas-pocket": "H2S, methane and low oxygen in the middle third of each pipe",
        "surge": "the water rises by 40 points of the diameter over the last third of each pipe",
        "low-battery": "the battery starts at 22 % and is at 12 % a fifth of the way along each pipe",
    },
    run_flag="drones",
    run_default=1,
    # one process per drone: each flies its own missions
    run_processes=lambda n, seed: [
        ["drone", "--device", f"sim-bathy-{i + 1:02d}", "--seed", str(seed + i)] for i in range(n)
    ],
)

FAMILY = Family(
    adapter=BathyAdapter(),
    storage=STORAGE,
    readers=Readers(("admin", "operator", "sanitation"), audited=True),  # pipe maps: sensitive infrastructure
    folder=Path(__file__).parent,
    provides=frozenset({Capability.PIPE_INSPECTION, Capability.READINGS}),
    simulator=SIMULATOR,
)

__all__ = ["FAMILY", "BathyAdapter"]
