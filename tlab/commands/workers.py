"""The long-running workers (``tlab ingest``, ``api``, ``alerts``...): each runs until SIGTERM or Ctrl-C."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from tlab.commands import load_settings


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the worker's loop ends its pass, then returns."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def ingest(
    retire: Annotated[
        bool,
        typer.Option("--retire", help="Leave the share group: drain this client id's session, then end it."),
    ] = False,
) -> None:
    """Run one ingest worker (MQTT -> TimescaleDB) until SIGTERM or Ctrl-C."""
    from ingest.worker import run_worker

    raise typer.Exit(run_worker(load_settings(), retire=retire))


def broker_credentials() -> None:
    """Keep the broker's password files and ACLs equal to the device registry (their one writer): on
    start, then on every registry change. Run beside the broker; ./lab run starts it."""
    from core.broker_credentials import BrokerCredentialsOwner
    from core.broker_credentials_metrics import broker_credentials_metrics
    from core.worker_metrics import serving
    from deploy import broker_probe  # noqa: F401 - the owner confirms each reload with a login

    settings = load_settings()
    stop = _stop_on_signals()
    owner = BrokerCredentialsOwner(settings)
    with serving(broker_credentials_metrics(owner), settings.metrics_host, settings.broker_credentials_metrics_port):
        owner.run(stop)


def alerts() -> None:
    """Run the alert evaluator: default rule packs loaded, then readings turned into alerts until SIGTERM."""
    from core.db import connect
    from core.migrate import require_current_schema
    from services.alerts.evaluator import AlertEvaluator
    from services.alerts.packs import load_packs

    settings = load_settings()
    require_current_schema(settings.database_url)
    with connect(settings.database_url) as conn:
        typer.echo(f"rule packs: {load_packs(conn)} rules written")
    stop = _stop_on_signals()
    AlertEvaluator(settings).run(stop)


def deliveries() -> None:
    """Deliver alert events: to the registered webhooks (signed, retried, logged) and on MQTT
    (tlab/alerts/<service>/<severity>), each on its own cursor, until SIGTERM."""
    from services.alerts.deliveries import Deliveries

    settings = load_settings()
    stop = _stop_on_signals()
    Deliveries(settings).run(stop)  # metrics and health on TLAB_DELIVERIES_METRICS_PORT


def incidents() -> None:
    """Keep dumping incidents in step with the camera events (docs/incidents.md) until SIGTERM."""
    from core.migrate import require_current_schema
    from services.incidents.worker import IncidentWorker

    settings = load_settings()
    require_current_schema(settings.database_url)
    stop = _stop_on_signals()
    IncidentWorker(settings).run(stop)


def evidence(
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Queue again the images whose copy failed, then exit.")
    ] = False,
) -> None:
    """Make the privacy copy of every camera image and purge what is past retention (docs/incidents.md)
    until SIGTERM."""
    from core.db import connect
    from core.migrate import require_current_schema
    from services.evidence.copies import retry_failed as requeue
    from services.evidence.worker import EvidenceWorker

    settings = load_settings()
    require_current_schema(settings.database_url)
    if retry_failed:
        with connect(settings.database_url) as conn:
            typer.echo(f"{requeue(conn)} image(s) queued again")
        return
    stop = _stop_on_signals()
    EvidenceWorker(settings).run(stop)


def vision(
    reanalyse: Annotated[
        str | None, typer.Option(help="Forget a mission's analyses by the current model first (after a change).")
    ] = None,
) -> None:
    """Analyse the drone's frames into EN 13508-2 observations (docs/vision.md) until SIGTERM."""
    from core.db import connect
    from core.migrate import require_current_schema
    from services.vision.analysis import configured
    from services.vision.trained import ModelRefused
    from services.vision.trust import TrustFileError
    from services.vision.worker import VisionWorker

    settings = load_settings()
    try:
        analysis = configured(settings)  # TLAB_VISION_MODEL: a model that does not meet the contract stops here
        worker = VisionWorker(settings, analysis=analysis)  # its trust per code read: a broken trust file too
    except (ModelRefused, TrustFileError) as exc:
        typer.echo(f"tlab vision: {exc}", err=True)
        raise typer.Exit(2) from None
    require_current_schema(settings.database_url)
    if reanalyse:
        with connect(settings.database_url) as conn:
            gone = conn.execute(
                "DELETE FROM frame_analyses WHERE mission_id = %s AND model = %s", (reanalyse, analysis.model)
            ).rowcount
        typer.echo(f"{gone} analyses of {reanalyse} forgotten: its frames are analysed again")
    stop = _stop_on_signals()
    worker.run(stop)


def api() -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        "services.api.main:create_app", factory=True, host=settings.api_host, port=settings.api_port, log_config=None
    )
