"""``tlab run`` (the whole platform with its simulators, ``tlab/supervisor.py``) and ``tlab test``."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from core.settings import REPO_ROOT
from tlab.commands import load_settings


def run_command() -> Callable[..., None]:
    """``tlab run``, with one ``--<run_flag> N`` option per family that has a simulator (from the registry)."""
    from device_adapters.registry import FAMILIES

    simulated = [f for f in FAMILIES if f.simulator is not None]

    def run(seed: int = 42, **counts: int) -> None:
        from tlab.supervisor import run_platform

        fleet = {f.name: counts[f.simulator.run_flag] for f in simulated if f.simulator is not None}
        raise typer.Exit(run_platform(load_settings(), fleet=fleet, seed=seed))

    params = [
        inspect.Parameter(
            f.simulator.run_flag,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.simulator.run_default,
            annotation=Annotated[int, typer.Option(help=f"Simulated {f.name} devices ({f.simulator.help})")],
        )
        for f in simulated
        if f.simulator is not None
    ]
    params.append(
        inspect.Parameter(
            "seed",
            inspect.Parameter.KEYWORD_ONLY,
            default=42,
            annotation=Annotated[int, typer.Option(help="Simulator seed.")],
        )
    )
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__doc__ = "The whole platform with all simulators: stack, migrations, ingest, API, simulators."
    return run


# Two pytest processes, a test file at a time each (pytest-xdist): most integration tests wait on the broker, the
# database or a clock, so two keep two cores busy; each starts its own stack (tests/conftest.py). `-n 0` runs
# the suite in one process.
PARALLEL = ["-n", "2", "--dist", "loadfile"]


def test(ctx: typer.Context) -> None:
    """Run the whole test suite (each of its 2 processes starts its own stack on its own ports). Extra args go to
    pytest (`-n 0`: one process)."""
    env = dict(os.environ)
    parallel = [] if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in ctx.args) else PARALLEL
    cmd = [sys.executable, "-m", "pytest", *parallel, *ctx.args]
    raise typer.Exit(subprocess.call(cmd, cwd=REPO_ROOT, env=env))
