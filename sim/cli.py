"""``tlab sim``: run one family's simulator (one command per registered family with a simulator, its options
from the family's ``SimulatorSpec``). Fault options are the group's: ``tlab sim --duplicate 0.2 garden``."""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable
from typing import Annotated, Any

import typer

from core import logs
from core.settings import Settings
from device_adapters.registry import FAMILIES
from device_adapters.simulation import Simulator, SimulatorSpec
from sim.faults import FaultInjector
from sim.runner import run_simulator

sim_app = typer.Typer(
    help="Hardware simulators that speak the device contracts, each device logged in with its own provisioned "
    "credentials (kept in <state>/sim-devices.json). Options before the simulator's name inject "
    "faults into whatever it publishes.",
    no_args_is_help=True,
)


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


def _run(ctx: typer.Context, sim: Simulator, rate: float) -> None:
    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    raise typer.Exit(run_simulator(sim, settings, rate=rate, **ctx.obj))


def _command(spec: SimulatorSpec) -> Callable[..., None]:
    """A ``tlab sim <command>`` whose options are the family's (typer reads the generated signature)."""

    def command(ctx: typer.Context, scenario: str = "", **options: Any) -> None:
        try:
            sim = spec.build_scenario(scenario, **options)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--scenario") from exc
        _run(ctx, sim, float(options["rate"]))

    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    params += [
        inspect.Parameter(
            option.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=option.default,
            annotation=Annotated[type(option.default), typer.Option(help=option.help)],
        )
        for option in spec.options
    ]
    scenarios = "; ".join(f"{name}: {what}" for name, what in spec.all_scenarios().items())
    params.append(
        inspect.Parameter(
            "scenario",
            inspect.Parameter.KEYWORD_ONLY,
            default="",
            annotation=Annotated[str, typer.Option(help=f"A scenario that fires alerts ({scenarios}).")],
        )
    )
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = spec.help
    return command


for _family in FAMILIES:
    if _family.simulator is not None:
        sim_app.command(_family.simulator.command)(_command(_family.simulator))
