"""``tlab retention``: purge the camera data past its retention (docs/incidents.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from tlab.commands import load_settings

retention_app = typer.Typer(help="Retention of camera data (docs/incidents.md).", no_args_is_help=True)


@retention_app.command("purge")
def retention_purge(
    now: Annotated[
        datetime | None,
        typer.Option(help="Purge as if it were this moment (ISO 8601, e.g. 2027-01-15T00:00:00+00:00); default: now."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Count what would go (rows and files, as a run reports them); delete nothing."),
    ] = False,
    by: Annotated[str, typer.Option(help="Who runs it, recorded with the purge (the CronJob says so).")] = "tlab CLI",
) -> None:
    """Purge camera events, snapshots, privacy copies and the cameras' dead letters older than
    TLAB_CAMERA_RETENTION_DAYS (held incidents keep theirs); prints what went (``held_incidents_spared``: the held
    incidents that kept something past the cut-off). Takes the evidence workers' purge lock: while one of them is
    purging, this says so and does nothing."""
    import json

    from core.db import connect
    from core.media_store import MediaStore
    from services.evidence.clears import drain_clears
    from services.evidence.purge_runs import purge_under_lock

    settings = load_settings()
    with connect(settings.database_url) as conn:
        if now is not None and now.tzinfo is None:
            raise typer.BadParameter("--now needs a time zone (…Z or …+01:00)")
        report = purge_under_lock(
            conn, MediaStore(settings.media_path), settings.camera_retention_days, by=by, now=now, dry_run=dry_run
        )
        if report is None:  # an evidence worker (or another run) is purging right now: the same work
            typer.echo(json.dumps({"skipped": "another purge holds the lock"}, indent=2))
            return
        cleared = 0 if dry_run else drain_clears(conn, settings)  # the broker's retained copies of what went
    typer.echo(json.dumps({**report.as_dict(), "retained_cleared": cleared}, indent=2))
