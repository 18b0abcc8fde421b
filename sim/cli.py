"""``tlab sim``: run one simulator. Fault options are the group's: ``tlab sim --duplicate 0.2 garden``."""

from __future__ import annotations

import random
from typing import Annotated

import typer

from core import logs
from core.settings import Settings
from sim.faults import FaultInjector
from sim.runner import Simulator, run_simulator

sim_app = typer.Typer(
    help="Hardware simulators that speak the device contracts, each device logged in with its own provisioned "
    "credentials (kept in <state>/sim-devices.json). Options before the simulator's name inject "
    "faults into whatever it publishes.",
    no_args_is_help=True,
)
Seed = Annotated[int, typer.Option(help="Random seed (same seed, same payloads).")]


@sim_app.callback()
def faults(
    ctx: typer.Context,
    malformed: Annotated[float, typer.Option(help="Share of JSON payloads replaced by malformed ones.")] = 0.0,
    duplicate: Annotated[float, typer.Option(help="Share of messages sent twice.")] = 0.0,
    late: Annotated[float, typer.Option(help="Share of messages whose ts is --late-hours old.")] = 0.0,
    late_hours: Annotated[float, typer.Option(help="How old late messages are.")] = 3.0,
    clock_skew_s: Annotated[float, typer.Option(help="Seconds added to every ts (a wrong device clock).")] = 0.0,
    disconnect_every: Annotated[int, typer.Option(help="Drop and reopen the MQTT link every N ticks.")] = 0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 7919,
) -> None:
    injector = FaultInjector(
        random.Random(fault_seed),
        malformed=malformed,
        duplicate=duplicate,
        late=late,
        late_hours=late_hours,
        clock_skew_s=clock_skew_s,
    )
    ctx.obj = {"faults": injector if injector.active else None, "disconnect_every": disconnect_every}


def _run(ctx: typer.Context, sim: Simulator, rate: float, count: int = 0) -> None:
    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    raise typer.Exit(run_simulator(sim, settings, rate=rate, count=count, **ctx.obj))


@sim_app.command("garden")
def garden(
    ctx: typer.Context,
    devices: Annotated[int, typer.Option(help="Fleet size.")] = 5,
    rate: Annotated[float, typer.Option(help="Readings per second per device.")] = 1.0,
    count: Annotated[int, typer.Option(help="Readings per device, 0 = forever.")] = 0,
    prefix: Annotated[str, typer.Option(help="Device ids are <prefix>-01, <prefix>-02, ...")] = "sim-garden",
    seed: Seed = 42,
) -> None:
    """Ptipot' garden sensors."""
    from sim.garden import GardenFleet

    _run(ctx, GardenFleet(devices=devices, seed=seed, prefix=prefix), rate, count)


@sim_app.command("drone")
def drone(
    ctx: typer.Context,
    rate: Annotated[float, typer.Option(help="Telemetry messages per second.")] = 5.0,
    frame_every: Annotated[int, typer.Option(help="One video frame per N telemetry messages.")] = 5,
    length_m: Annotated[float, typer.Option(help="Pipe length.")] = 60.0,
    device: Annotated[str, typer.Option(help="Drone id.")] = "sim-bathy-01",
    count: Annotated[int, typer.Option(help="Missions to fly, 0 = forever.")] = 0,
    seed: Seed = 42,
) -> None:
    """Bathy pipe-inspection drone: missions with telemetry and rendered frames."""
    from sim.drone import DroneMission

    mission = DroneMission(
        device_id=device, seed=seed, length_m=length_m, frame_every=frame_every, missions=count, rate_hz=rate
    )
    _run(ctx, mission, rate)


@sim_app.command("camera")
def camera(
    ctx: typer.Context,
    devices: Annotated[int, typer.Option(help="Number of cameras.")] = 2,
    rate: Annotated[float, typer.Option(help="Messages per second per camera.")] = 0.5,
    count: Annotated[int, typer.Option(help="Events per camera, 0 = forever.")] = 0,
    prefix: Annotated[str, typer.Option(help="Camera ids are <prefix>-01, <prefix>-02, ...")] = "sim-cam",
    seed: Seed = 42,
) -> None:
    """Karroad dumping cameras: detection events and rendered snapshots."""
    from sim.camera import CameraFleet

    _run(ctx, CameraFleet(devices=devices, seed=seed, events=count, prefix=prefix), rate)
