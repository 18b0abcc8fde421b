"""Karroad's illegal-dumping cameras. Contract: README.md beside this file."""

from pathlib import Path

from device_adapters.capabilities import Capability
from device_adapters.capabilities.camera_detections.storage import STORAGE
from device_adapters.family import Family, Readers
from device_adapters.karroad.adapter import KarroadAdapter
from device_adapters.karroad.frigate_sim import FrigateGateway
from device_adapters.karroad.simulator import CameraFleet
from device_adapters.simulation import SimOption, SimulatorSpec

SIMULATOR = SimulatorSpec(
    command="camera",
    help="Karroad dumping cameras: detection events and rendered snapshots.",
    build=lambda devices, rate, count, prefix, seed, scenario: (
        FrigateGateway(devices=devices, seed=seed, scenes=count, prefix=prefix)
        if scenario == "frigate"
        else CameraFleet(devices=devices, seed=seed, events=count, prefix=prefix)
    ),
    options=(
        SimOption("devices", 2, "Number of cameras."),
        SimOption("rate", 0.5, "Messages per second per camera."),
        SimOption("count", 0, "Events per camera, 0 = forever."),
        SimOption("prefix", "sim-cam", "Camera ids are <prefix>-01, <prefix>-02, ..."),
        SimOption("seed", 42, "Random seed (same seed, same payloads)."),
    ),
    run_flag="cameras",
    run_default=2,
    # Karroad's own cameras, and a Frigate server with one camera playing the dumping scene (incidents)
    run_processes=lambda n, seed: (
        [
            ["camera", "--devices", str(n), "--seed", str(seed)],
            ["camera", "--scenario", "frigate", "--devices", "1", "--prefix", "sim-frigate", "--seed", str(seed)],
        ]
        if n
        else []
    ),
    scenarios={
        "frigate": "a Frigate server (gateway <prefix>-gw) whose cameras play a dumping scene: a van stops, "
        "a person unloads, a couch stays 4 min (an incident), a false positive, a passer-by",
    },
)

FAMILY = Family(
    adapter=KarroadAdapter(),
    storage=STORAGE,
    # camera events and snapshots are personal data (CNIL): the cleanliness service and police
    readers=Readers(("admin", "operator", "cleanliness", "police"), audited=True),
    folder=Path(__file__).parent,
    provides=frozenset({Capability.CAMERA_DETECTIONS, Capability.PERSONAL_IMAGES}),
    simulator=SIMULATOR,
)

__all__ = ["FAMILY", "KarroadAdapter"]
