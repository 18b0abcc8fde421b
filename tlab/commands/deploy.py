"""``tlab deploy``: the deployment files generated from the declared processes (core/platform.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import REPO_ROOT

deploy_app = typer.Typer(
    help="Deployments generated from the declared processes (core/platform.py).", no_args_is_help=True
)


@deploy_app.command("render")
def deploy_render(
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if a generated file is stale.")] = False,
) -> None:
    """Write deploy/docker-compose.yml and deploy/k8s/ from core/platform.py (the declared processes)."""
    from core.platform import PROCESSES
    from deploy.render import render_all, stale, write
    from device_adapters.registry import BUILT_IN

    rendered = render_all(PROCESSES, BUILT_IN)  # the built-in families' simulators, never a test's fixture
    if check:
        problems = stale(rendered)
        for problem in problems:
            typer.echo(f"stale: {problem}", err=True)
        raise typer.Exit(1 if problems else 0)
    for path in write(rendered):
        typer.echo(f"{'wrote' if path.exists() else 'removed'} {path.relative_to(REPO_ROOT)}")
