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
    """Every registered family: topic root, what it provides, its tables (its own, or a capability's), who reads
    its data, its simulator and routes."""
    from device_adapters.capabilities import API_MODULES
    from device_adapters.ddl import capability_tables
    from device_adapters.registry import FAMILIES

    shared = capability_tables()
    for f in FAMILIES:
        provides = ", ".join(sorted(c.value for c in f.provides)) or "none"
        groups: dict[str, list[str]] = {}
        for table in f.tables:
            groups.setdefault(f"of {shared[table].value}" if table in shared else "its own", []).append(table)
        tables = "; ".join(f"{whose}: {', '.join(names)}" for whose, names in groups.items())
        readers = ", ".join(f.readers.roles) + (" (audited)" if f.readers.audited else "")
        sim = f"tlab sim {f.simulator.command}" if f.simulator else "none"
        routes = [f"of {c.value} ({API_MODULES[c]})" for c in sorted(f.provides) if c in API_MODULES]
        routes.append(f"its own: {f.api or 'none'}")
        typer.echo(
            f"{f.name:<10} {f.adapter.topic_root}/#  provides: {provides}\n"
            f"{'':<10} tables {tables}\n"
            f"{'':<10} readers: {readers}  simulator: {sim}\n"
            f"{'':<10} routes {'; '.join(routes)}\n"
            f"{'':<10} folder: {f.folder}"
        )


@families_app.command("ddl")
def families_ddl(
    family: Annotated[str, typer.Argument(help="A registered family.")],
    chunk: Annotated[str, typer.Option(help="Hypertable chunk interval.")] = "7 days",
) -> None:
    """The CREATE TABLE of each table of the family's own records, to paste into its migration; records stored into
    a capability's tables are named, not printed: the capability's migrations create those (device_adapters/ddl.py)."""
    from device_adapters.ddl import family_ddl
    from device_adapters.registry import family as find

    try:
        found = find(family)
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(family_ddl(found, chunk), nl=False)


@families_app.command("golden")
def families_golden(
    family: Annotated[str, typer.Argument(help="A registered family.")],
    case: Annotated[str, typer.Argument(help="A case folder in its testdata/ (topic, payload.*, [properties.json]).")],
    write: Annotated[
        bool, typer.Option("--write", help="Write expected.json or expected.err into the case folder.")
    ] = False,
) -> None:
    """Decode a golden case as tests/unit/test_adapter_golden.py does (received at device_adapters/golden.py's
    RECEIVED_AT) and print its expected.json (the records) or expected.err (code and reason). It shows what the
    adapter does, not what the contract says: read it before keeping it."""
    from device_adapters.golden import GoldenCase, expected_file
    from device_adapters.registry import family as find

    try:
        found = find(family)
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    folder = found.folder / "testdata" / case
    if not folder.is_dir():
        cases = sorted(d.name for d in (found.folder / "testdata").glob("*") if d.is_dir())
        raise typer.BadParameter(f"no case folder {folder} (its cases: {', '.join(cases) or 'none yet'})")
    missing = [name for name in ("topic", "payload.*") if not any(folder.glob(name))]
    if missing:
        raise typer.BadParameter(f"{folder} lacks {' and '.join(missing)}")
    golden = GoldenCase(found.name, case, folder)
    root = golden.message.topic.split("/", 1)[0]
    if root != found.adapter.topic_root:
        raise typer.BadParameter(f"{folder / 'topic'}: {root!r} is not {found.name}'s topic root")
    name, content = expected_file(golden)
    if not write:
        typer.echo(f"# {folder / name}", err=True)
        typer.echo(content, nl=False)
        return
    other = folder / ("expected.json" if name == "expected.err" else "expected.err")
    if other.exists():
        raise typer.BadParameter(f"{other} exists and the adapter now gives {name}: remove it first if that is right")
    (folder / name).write_text(content)
    typer.echo(f"wrote {folder / name}")
