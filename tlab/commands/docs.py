"""What the platform declares, printed: ``tlab config`` (settings), ``tlab policy`` (roles) and ``tlab families``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.settings import REPO_ROOT, Settings

families_app = typer.Typer(help="The registered device families (device_adapters/registry.py).", no_args_is_help=True)


def config(markdown: Annotated[bool, typer.Option(help="Print the README table.")] = False) -> None:
    """Show every setting with its environment variable, default and meaning."""
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, Path):
            default = str(default).replace(str(REPO_ROOT), ".")
        env = f"TLAB_{name.upper()}"
        if markdown:
            typer.echo(f"| `{env}` | `{default}` | {field.description} |")
        else:
            typer.echo(f"{env:<30} {default!s:<24} {field.description}")


def policy(markdown: Annotated[bool, typer.Option(help="Print the README table.")] = False) -> None:
    """Show which role may call which HTTP route (services/auth/policy.py)."""
    from services.api.policy import POLICIES, role_matrix_markdown

    if markdown:
        typer.echo("\n".join(role_matrix_markdown()))
        return
    for (method, template), rule in POLICIES.items():
        roles = ", ".join(sorted(r.value for r in rule.roles))
        typer.echo(f"{method:<7}{template:<46}{roles}{'  (audited)' if rule.audit else ''}")


@families_app.command("list")
def families_list() -> None:
    """Every registered family: topic root, tables, who reads its data, its simulator and routes."""
    from device_adapters.registry import FAMILIES

    for f in FAMILIES:
        readers = ", ".join(f.readers.roles) + (" (audited)" if f.readers.audited else "")
        sim = f"tlab sim {f.simulator.command}" if f.simulator else "none"
        typer.echo(
            f"{f.name:<10} {f.adapter.topic_root}/#  tables: {', '.join(f.tables)}\n"
            f"{'':<10} readers: {readers}  simulator: {sim}  own routes: {f.api or 'none'}  folder: {f.folder}"
        )


@families_app.command("ddl")
def families_ddl(
    family: Annotated[str, typer.Argument(help="A registered family.")],
    chunk: Annotated[str, typer.Option(help="Hypertable chunk interval.")] = "7 days",
) -> None:
    """The CREATE TABLE of each record the family stores, to paste into its migration (device_adapters/ddl.py)."""
    from device_adapters.ddl import table_ddl
    from device_adapters.registry import family as find

    try:
        specs = find(family).storage
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for spec in specs:
        try:
            typer.echo(table_ddl(spec, chunk))
        except TypeError as exc:
            typer.echo(f"-- {spec.record_type.__name__}: {exc}")
