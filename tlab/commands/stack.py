"""``tlab stack`` and ``tlab migrate``: the project's own Mosquitto and PostgreSQL, and its schema."""

from __future__ import annotations

from typing import Annotated

import typer

from tlab.commands import load_settings

stack_app = typer.Typer(
    help="The project's own Mosquitto and PostgreSQL+TimescaleDB (no Docker).", no_args_is_help=True
)


@stack_app.command("up")
def stack_up() -> None:
    """Start (or check) Mosquitto and PostgreSQL, then apply migrations."""
    from core.migrate import migrate
    from deploy.local_stack import LocalStack

    settings = load_settings()
    stack = LocalStack(settings)
    stack.up()
    migrate(settings)
    stack.sync_auth_from_registry()
    tls = f"  mqtts://{settings.mqtt_host}:{settings.mqtt_tls_port}" if settings.mqtt_tls_port else ""
    typer.echo(f"mqtt://{settings.mqtt_host}:{settings.mqtt_port}{tls}  {settings.database_url_shown}")


@stack_app.command("down")
def stack_down() -> None:
    """Stop the project's Mosquitto and PostgreSQL (data is kept)."""
    from deploy.local_stack import LocalStack

    LocalStack(load_settings()).down()


@stack_app.command("status")
def stack_status() -> None:
    """Show whether each service of the stack runs."""
    from deploy.local_stack import LocalStack

    statuses = LocalStack(load_settings()).status()
    for s in statuses:
        typer.echo(f"{s.name:<10} {'running' if s.running else 'stopped':<8} port {s.port}  {s.detail}")
    raise typer.Exit(0 if all(s.running for s in statuses) else 3)


@stack_app.command("reset")
def stack_reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Stop the stack and delete its state folder (all data, media and generated configs)."""
    from deploy.local_stack import LocalStack

    settings = load_settings()
    if not yes:
        typer.confirm(f"Delete {settings.state_dir}?", abort=True)
    LocalStack(settings).reset()


def migrate() -> None:
    """Apply pending schema migrations."""
    from core.migrate import migrate as apply

    applied = apply(load_settings())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema up to date")
