"""``tlab dead-letters``: replay the messages the platform refused."""

from __future__ import annotations

from typing import Annotated

import typer

from tlab.commands import load_settings

dead_app = typer.Typer(help="Dead letters: messages the platform refused, with their reasons.", no_args_is_help=True)


@dead_app.command("replay")
def dead_letters_replay(
    ids: Annotated[list[int] | None, typer.Option("--id", help="Only these ids (repeatable).")] = None,
    reason_code: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    family: Annotated[str | None, typer.Option(help="Only this device family.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many letters.")] = 1000,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decode only; store and mark nothing.")] = False,
) -> None:
    """Replay unresolved dead letters through the adapters (idempotent: resolved ones are skipped)."""
    import json

    from ingest import ReplayFilter, replay_dead_letters

    report = replay_dead_letters(
        load_settings(),
        ReplayFilter(ids=tuple(ids or ()), reason_code=reason_code, topic=topic, family=family, limit=limit),
        dry_run=dry_run,
    )
    typer.echo(json.dumps(report.as_dict()))
