"""The ``tlab`` command: stack, migrations, workers, simulators, the run and test commands."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from core import logs
from core.settings import REPO_ROOT, Settings
from sim.cli import sim_app

app = typer.Typer(
    help="Territoire Lab: MQTT ingest, TimescaleDB and the API for the lab's pilots.",
    no_args_is_help=True,
    add_completion=False,
)
stack_app = typer.Typer(
    help="The project's own Mosquitto and PostgreSQL+TimescaleDB (no Docker).", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
app.add_typer(sim_app, name="sim")
devices_app = typer.Typer(help="Device provisioning: MQTT credentials from the registry.", no_args_is_help=True)
app.add_typer(devices_app, name="devices")
tokens_app = typer.Typer(help="API tokens (the admin's credentials CLI).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
dead_app = typer.Typer(help="Dead letters: messages the platform refused, with their reasons.", no_args_is_help=True)
app.add_typer(dead_app, name="dead-letters")
families_app = typer.Typer(help="The registered device families (device_adapters/registry.py).", no_args_is_help=True)
app.add_typer(families_app, name="families")
retention_app = typer.Typer(help="Retention of camera data (docs/incidents.md).", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
bench_app = typer.Typer(help="Benchmarks: print figures and write them to benchmarks/results/.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
deploy_app = typer.Typer(
    help="Deployments generated from the declared processes (core/platform.py).", no_args_is_help=True
)
app.add_typer(deploy_app, name="deploy")


def _settings() -> Settings:
    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    return settings


# ---- stack ----------------------------------------------------------------------------------------
@stack_app.command("up")
def stack_up() -> None:
    """Start (or check) Mosquitto and PostgreSQL, then apply migrations."""
    from core.migrate import migrate
    from deploy.local_stack import LocalStack

    settings = _settings()
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

    LocalStack(_settings()).down()


@stack_app.command("status")
def stack_status() -> None:
    """Show whether each service of the stack runs."""
    from deploy.local_stack import LocalStack

    statuses = LocalStack(_settings()).status()
    for s in statuses:
        typer.echo(f"{s.name:<10} {'running' if s.running else 'stopped':<8} port {s.port}  {s.detail}")
    raise typer.Exit(0 if all(s.running for s in statuses) else 3)


@stack_app.command("reset")
def stack_reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Stop the stack and delete its state folder (all data, media and generated configs)."""
    from deploy.local_stack import LocalStack

    settings = _settings()
    if not yes:
        typer.confirm(f"Delete {settings.state_dir}?", abort=True)
    LocalStack(settings).reset()


@app.command("migrate")
def migrate() -> None:
    """Apply pending schema migrations."""
    from core.migrate import migrate as apply

    applied = apply(_settings())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema up to date")


# ---- processes ------------------------------------------------------------------------------------
@app.command("ingest")
def ingest(
    retire: Annotated[
        bool,
        typer.Option("--retire", help="Leave the share group: drain this client id's session, then end it."),
    ] = False,
) -> None:
    """Run one ingest worker (MQTT -> TimescaleDB) until SIGTERM or Ctrl-C."""
    from ingest.worker import run_worker

    raise typer.Exit(run_worker(_settings(), retire=retire))


@app.command("broker-credentials")
def broker_credentials() -> None:
    """Keep the broker's password files and ACLs equal to the device registry (their one writer): on
    start, then on every registry change. Run beside the broker; ./lab run starts it."""
    import signal
    import threading

    from core.broker_credentials import BrokerCredentialsOwner
    from core.broker_credentials_metrics import broker_credentials_metrics
    from core.worker_metrics import serving
    from deploy import broker_probe  # noqa: F401 - the owner confirms each reload with a login

    settings = _settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    owner = BrokerCredentialsOwner(settings)
    with serving(broker_credentials_metrics(owner), settings.metrics_host, settings.broker_credentials_metrics_port):
        owner.run(stop)


@app.command("alerts")
def alerts() -> None:
    """Run the alert evaluator: default rule packs loaded, then readings turned into alerts until SIGTERM."""
    import signal
    import threading

    import psycopg

    from core.migrate import require_current_schema
    from services.alerts.evaluator import AlertEvaluator
    from services.alerts.packs import load_packs

    settings = _settings()
    require_current_schema(settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        typer.echo(f"rule packs: {load_packs(conn)} rules written")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    AlertEvaluator(settings).run(stop)


@app.command("deliveries")
def deliveries() -> None:
    """Deliver alert events: to the registered webhooks (signed, retried, logged) and on MQTT
    (tlab/alerts/<service>/<severity>), each on its own cursor, until SIGTERM."""
    import signal
    import threading

    from services.alerts.deliveries import Deliveries

    settings = _settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Deliveries(settings).run(stop)  # metrics and health on TLAB_DELIVERIES_METRICS_PORT


@app.command("incidents")
def incidents() -> None:
    """Keep dumping incidents in step with the camera events (docs/incidents.md) until SIGTERM."""
    import signal
    import threading

    from core.migrate import require_current_schema
    from services.incidents.worker import IncidentWorker

    settings = _settings()
    require_current_schema(settings.database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    IncidentWorker(settings).run(stop)


@app.command("evidence")
def evidence(
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Queue again the images whose copy failed, then exit.")
    ] = False,
) -> None:
    """Make the privacy copy of every camera image and purge what is past retention (docs/incidents.md)
    until SIGTERM."""
    import signal
    import threading

    import psycopg

    from core.migrate import require_current_schema
    from services.evidence.copies import retry_failed as requeue
    from services.evidence.worker import EvidenceWorker

    settings = _settings()
    require_current_schema(settings.database_url)
    if retry_failed:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            typer.echo(f"{requeue(conn)} image(s) queued again")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    EvidenceWorker(settings).run(stop)


@retention_app.command("purge")
def retention_purge(
    now: Annotated[
        datetime | None,
        typer.Option(help="Purge as if it were this moment (ISO 8601, e.g. 2027-01-15T00:00:00+00:00); default: now."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
) -> None:
    """Purge camera events, snapshots, privacy copies and the cameras' dead letters older than
    TLAB_CAMERA_RETENTION_DAYS (held incidents keep theirs); prints what went."""
    import json

    import psycopg

    from core.media_store import MediaStore
    from services.evidence.clears import drain_clears
    from services.evidence.retention import purge

    settings = _settings()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        moment = now or conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        if moment.tzinfo is None:
            raise typer.BadParameter("--now needs a time zone (…Z or …+01:00)")
        report = purge(conn, MediaStore(settings.media_path), moment, settings.camera_retention_days, dry_run=dry_run)
        cleared = 0 if dry_run else drain_clears(conn, settings)  # the broker's retained copies of what went
    typer.echo(json.dumps({**report.as_dict(), "retained_cleared": cleared}, indent=2))


@app.command("vision")
def vision(
    reanalyse: Annotated[
        str | None, typer.Option(help="Forget a mission's analyses by the current model first (after a change).")
    ] = None,
) -> None:
    """Analyse the drone's frames into EN 13508-2 observations (docs/vision.md) until SIGTERM."""
    import signal
    import threading

    import psycopg

    from core.migrate import require_current_schema
    from services.vision.analysis import MODEL
    from services.vision.worker import VisionWorker

    settings = _settings()
    require_current_schema(settings.database_url)
    if reanalyse:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            gone = conn.execute(
                "DELETE FROM frame_analyses WHERE mission_id = %s AND model = %s", (reanalyse, MODEL)
            ).rowcount
        typer.echo(f"{gone} analyses of {reanalyse} forgotten: its frames are analysed again")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    VisionWorker(settings).run(stop)


@app.command("api")
def api() -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = _settings()
    uvicorn.run(
        "services.api.main:create_app", factory=True, host=settings.api_host, port=settings.api_port, log_config=None
    )


def _run_command() -> Callable[..., None]:
    """``tlab run``, with one ``--<run_flag> N`` option per family that has a simulator (from the registry)."""
    from device_adapters.registry import FAMILIES

    simulated = [f for f in FAMILIES if f.simulator is not None]

    def run(seed: int = 42, **counts: int) -> None:
        from tlab.supervisor import run_platform

        fleet = {f.name: counts[f.simulator.run_flag] for f in simulated if f.simulator is not None}
        raise typer.Exit(run_platform(_settings(), fleet=fleet, seed=seed))

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


app.command("run")(_run_command())


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run the whole test suite (starts its own stack on its own ports). Extra args go to pytest."""
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "pytest", *ctx.args]
    raise typer.Exit(subprocess.call(cmd, cwd=REPO_ROOT, env=env))


@app.command("config")
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


@app.command("policy")
def policy(markdown: Annotated[bool, typer.Option(help="Print the README table.")] = False) -> None:
    """Show which role may call which HTTP route (services/auth/policy.py)."""
    from services.api.policy import POLICIES, role_matrix_markdown

    if markdown:
        typer.echo("\n".join(role_matrix_markdown()))
        return
    for (method, template), rule in POLICIES.items():
        roles = ", ".join(sorted(r.value for r in rule.roles))
        typer.echo(f"{method:<7}{template:<46}{roles}{'  (audited)' if rule.audit else ''}")


# ---- devices ---------------------------------------------------------------------------------------
def _registry_change(change: Any) -> Any:
    """Run a registry change, and return once the broker has taken it (a device can log in with what is
    printed at once, as the README's example does). The registry notifies the broker files' owner (``tlab
    broker-credentials``, run by ``./lab run``); with no owner running, the files are written here. If the
    broker has not confirmed within TLAB_MQTT_CREDENTIALS_WAIT_S, stderr says so (stdout keeps only what
    was asked for, so ``PW=$(…)`` still gets the password)."""
    import psycopg

    from core.broker_credentials import sync_once, wait_applied
    from core.device_registry import Credentials, RegistryError
    from deploy import broker_probe  # noqa: F401 - the writer confirms the reload with a login

    settings = _settings()
    try:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            result = change(conn)
    except RegistryError as exc:
        raise typer.BadParameter(str(exc)) from exc
    sync_once(settings)
    generation = result.generation if isinstance(result, Credentials) else int(result)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        ready = wait_applied(conn, generation, settings.mqtt_credentials_wait_s)
    if not ready:
        typer.echo(
            f"warning: the broker has not confirmed this change within {settings.mqtt_credentials_wait_s:g} s: "
            "the device may be refused until it does. Is `tlab broker-credentials` running (./lab run starts "
            "it)? `tlab devices sync-broker` writes the broker's files once.",
            err=True,
        )
    return result


PasswordOnly = Annotated[
    bool, typer.Option("--password-only", help="Print only the password (for scripts: PW=$(tlab devices ...)).")
]


def _print_credentials(creds: Any, settings: Settings, password_only: bool = False) -> None:
    if password_only:
        typer.echo(creds.password)
        return
    typer.echo(
        f"device {creds.device_id} ({creds.family})\n  MQTT username: {creds.username}\n"
        f"  MQTT password: {creds.password}   (shown once; stored hashed)\n"
        f"  may publish:   {creds.family}/{creds.device_id}/...\n"
        f"  e.g. mosquitto_pub -h {settings.mqtt_host} -p {settings.mqtt_port} -V mqttv5 -q 1 "
        f"-u {creds.username} -P '{creds.password}' -t {creds.family}/{creds.device_id}/... -m ..."
    )
    if settings.mqtt_tls_port:
        typer.echo(
            f"  over TLS:      add --cafile {settings.mqtt_tls_trust} and use -p {settings.mqtt_tls_port} "
            "(-h must be a name in the broker's certificate)"
        )


@devices_app.command("provision")
def devices_provision(
    device_id: Annotated[str, typer.Argument(help="The device's id (its topic level).")],
    family: Annotated[str, typer.Option(help="ptipot, bathy or karroad.")],
    pilot: Annotated[str | None, typer.Option(help="The laureate company.")] = None,
    location: Annotated[str | None, typer.Option(help="Where it is installed.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    password_only: PasswordOnly = False,
) -> None:
    """Register a device and issue its MQTT credentials (the password is shown once), once the broker
    accepts them (at most TLAB_MQTT_CREDENTIALS_WAIT_S; stderr says so if it has not confirmed by then)."""
    from core.device_registry import provision

    creds = _registry_change(
        lambda conn: provision(conn, device_id, family, pilot=pilot, location=location, description=description)
    )
    _print_credentials(creds, _settings(), password_only)


@devices_app.command("rotate")
def devices_rotate(device_id: str, password_only: PasswordOnly = False) -> None:
    """Issue a new password, printed once the broker takes it; the old one stops working then (a connected
    device is dropped)."""
    from core.device_registry import rotate

    _print_credentials(_registry_change(lambda conn: rotate(conn, device_id)), _settings(), password_only)


@devices_app.command("revoke")
def devices_revoke(device_id: str) -> None:
    """Withdraw a device's credentials: when this returns the broker has dropped it if connected and
    refuses it (stderr says so if the broker has not confirmed in time)."""
    from core.device_registry import revoke

    _registry_change(lambda conn: revoke(conn, device_id))
    typer.echo(f"revoked {device_id}")


@devices_app.command("sync-broker")
def devices_sync_broker() -> None:
    """Regenerate the local broker's password file and ACL from the registry, and reload it."""
    from core.broker_credentials import sync_once

    written = sync_once(_settings())
    typer.echo("broker credentials and ACL regenerated" if written else "left to the running `tlab broker-credentials`")


@devices_app.command("map-camera")
def devices_map_camera(
    gateway_id: Annotated[str, typer.Argument(help="The gateway (a Frigate server's login).")],
    camera_name: Annotated[str, typer.Argument(help="The camera's name in the gateway's own configuration.")],
    device_id: Annotated[str, typer.Argument(help="The registered camera it is.")],
    detect: Annotated[
        str | None, typer.Option(help="The camera's detect resolution in the gateway, WIDTHxHEIGHT (1280x720).")
    ] = None,
) -> None:
    """Say which registered camera a gateway's camera name is (a gateway's message about a name not
    mapped is dead-lettered: unknown_camera)."""
    import psycopg

    from core.gateways import GatewayError, map_camera

    size = None
    if detect is not None:
        try:
            width, height = (int(v) for v in detect.lower().split("x"))
            size = (width, height)
        except ValueError as exc:
            raise typer.BadParameter(f"--detect {detect!r}: WIDTHxHEIGHT, e.g. 1280x720") from exc
    try:
        with psycopg.connect(_settings().database_url, autocommit=True) as conn:
            mapped = map_camera(conn, gateway_id, camera_name, device_id, size)
    except GatewayError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"{mapped.gateway_id}: {mapped.camera_name} -> {mapped.device_id}")


@devices_app.command("unmap-camera")
def devices_unmap_camera(
    gateway_id: Annotated[str, typer.Argument(help="The gateway (a Frigate server's login).")],
    camera_name: Annotated[str, typer.Argument(help="The camera's name in the gateway's own configuration.")],
) -> None:
    """Stop accepting a gateway's camera name: its messages are dead-lettered from now on (unknown_camera),
    and the snapshots the broker keeps retained under that name are deleted by `tlab evidence`."""
    import psycopg

    from core.gateways import unmap_camera

    with psycopg.connect(_settings().database_url, autocommit=True) as conn:
        if not unmap_camera(conn, gateway_id, camera_name):
            raise typer.BadParameter(f"{gateway_id!r} has no camera named {camera_name!r}")
    typer.echo(f"{gateway_id}: {camera_name} unmapped")


@devices_app.command("mask")
def devices_mask(
    device_id: Annotated[str, typer.Argument(help="The camera.")],
    polygon: Annotated[
        list[str] | None,
        typer.Option(
            help="A polygon in fractions of the frame, as Frigate writes masks: x1,y1,x2,y2,x3,y3,... "
            "(repeat for several). The list replaces the camera's masks."
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the camera's masks.")] = False,
) -> None:
    """Privacy masks (private windows, gardens): blacked out of every image the camera sends from now on,
    before it is stored. Without options, shows the camera's masks."""
    import psycopg

    from core.privacy_masks import masks_of, set_masks
    from device_adapters.masking import MaskError, parse_polygon

    with psycopg.connect(_settings().database_url, autocommit=True) as conn:
        if polygon or clear:
            try:
                polygons = [] if clear else [parse_polygon(p) for p in polygon or []]
                count = set_masks(conn, device_id, polygons)
            except (MaskError, LookupError) as exc:
                raise typer.BadParameter(str(exc)) from exc
            typer.echo(f"{device_id}: {count} mask(s)")
        for mask in masks_of(conn, device_id):
            typer.echo(",".join(f"{v:g}" for point in mask for v in point))


@devices_app.command("cameras")
def devices_cameras(gateway_id: str) -> None:
    """The cameras a gateway speaks for."""
    import psycopg

    from core.gateways import cameras_of

    with psycopg.connect(_settings().database_url, autocommit=True) as conn:
        for c in cameras_of(conn, gateway_id):
            size = f"  {c.detect_width}x{c.detect_height}" if c.detect_width else ""
            typer.echo(f"{c.camera_name} -> {c.device_id}{size}")


# ---- API tokens -----------------------------------------------------------------------------------
@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="Who or what uses the token.")],
    role: Annotated[
        list[str],
        typer.Option(
            help="A role (repeatable): admin, operator, viewer, sanitation, cleanliness, green_spaces, police."
        ),
    ],
    expires_in_days: Annotated[int | None, typer.Option(help="Expiry; none by default.")] = None,
) -> None:
    """Issue a token and print it (the only time it is shown)."""
    from datetime import timedelta

    import psycopg

    from services.auth.roles import Role
    from services.auth.tokens import create_token

    try:
        roles = [Role(r) for r in role]
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; roles: {', '.join(Role)}") from exc
    with psycopg.connect(_settings().database_url, autocommit=True) as conn:
        issued = create_token(conn, name, roles, timedelta(days=expires_in_days) if expires_in_days else None)
    typer.echo(issued.token)


@tokens_app.command("list")
def tokens_list() -> None:
    """Every token, without secrets."""
    import psycopg

    from services.auth.tokens import list_tokens

    with psycopg.connect(_settings().database_url) as conn:
        for t in list_tokens(conn):
            state = "revoked" if t["revoked_at"] else "active"
            typer.echo(
                f"{t['id']:>5}  {t['name']:<24} {','.join(t['roles']):<32} {state}  last used {t['last_used_at']}"
            )


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    import psycopg

    from services.auth.tokens import revoke_token

    with psycopg.connect(_settings().database_url, autocommit=True) as conn:
        if not revoke_token(conn, token_id):
            raise typer.BadParameter(f"no active token {token_id}")
    typer.echo(f"revoked {token_id}")


# ---- dead letters ---------------------------------------------------------------------------------
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
        _settings(),
        ReplayFilter(ids=tuple(ids or ()), reason_code=reason_code, topic=topic, family=family, limit=limit),
        dry_run=dry_run,
    )
    typer.echo(json.dumps(report.as_dict()))


# ---- families -------------------------------------------------------------------------------------
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


# ---- benchmarks -----------------------------------------------------------------------------------
@bench_app.command("table-design")
def bench_table_design(
    messages: Annotated[int, typer.Option(help="Drone telemetry messages to write per design.")] = 100_000,
) -> None:
    """Narrow vs wide telemetry tables: write rate, size, query latency (starts the stack if needed)."""
    from benchmarks.table_design import main
    from deploy.local_stack import LocalStack

    settings = _settings()
    stack = LocalStack(settings)
    stack.up()
    stack.ensure_database("tlab_bench")
    main(settings.model_copy(update={"pg_database": "tlab_bench"}).owner_database_url, messages)


@bench_app.command("lists")
def bench_lists(
    samples: Annotated[int, typer.Option(help="Requests per figure (after 2 warm-up ones).")] = 15,
    reload: Annotated[bool, typer.Option("--reload", help="Load the data again (minutes).")] = False,
    repeat: Annotated[int, typer.Option(help="Runs of each phase; the medians are reported.")] = 3,
) -> None:
    """Every list route on 10 M readings and 1 M dead letters: page 1 and a deep page, before/after issue 9."""
    from benchmarks.list_routes import main

    logs.configure("WARNING")
    main(Settings(), samples, reload, repeat)


@bench_app.command("alerts")
def bench_alerts(
    devices: Annotated[int, typer.Option(help="Garden devices, each under the 5 default rules of a garden.")] = 1000,
    messages: Annotated[int, typer.Option(help="Messages per throughput run, spread over the devices.")] = 150_000,
    repeat: Annotated[int, typer.Option(help="Throughput runs without and with the evaluator (medians).")] = 3,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run (2 alerts a second).")] = 60.0,
    phases: Annotated[str, typer.Option(help="Phases to run: throughput,latency.")] = "throughput,latency",
) -> None:
    """Ingest's committed rate without and with the alert evaluator; reading commit -> alert seen, p99."""
    from benchmarks.alerts import main

    logs.configure("WARNING")
    main(devices, messages, repeat, latency_seconds, tuple(phases.split(",")))


@bench_app.command("vision")
def bench_vision(
    missions: Annotated[int, typer.Option(help="Rendered missions of 30 m (61 frames each), seeds 1..N.")] = 24,
    repeat: Annotated[int, typer.Option(help="Timed passes over all frames; the median is reported.")] = 3,
) -> None:
    """Frames per second per core of the whole analysis at 640x480, peak memory, precision/recall per code."""
    from benchmarks.vision import main

    logs.configure("WARNING")
    main(missions, repeat)


@bench_app.command("evidence")
def bench_evidence(
    images: Annotated[int, typer.Option(help="Generated images per resolution (640x480 to 4096x3072).")] = 20,
    repeat: Annotated[int, typer.Option(help="Timed passes; the median is reported.")] = 3,
) -> None:
    """What privacy costs per image: ingest's check and masks, the privacy copy, the copy's bytes."""
    from benchmarks.evidence import main

    logs.configure("WARNING")
    main(images, repeat)


@bench_app.command("ingest")
def bench_ingest(
    messages: Annotated[int, typer.Option(help="Messages of the realistic mix per phase.")] = 60_000,
    workers: Annotated[str, typer.Option(help="Worker counts to measure, comma-separated.")] = "1,2,3",
    latency_seconds: Annotated[float, typer.Option(help="Length of the fixed-rate latency run.")] = 10.0,
    latency_rate: Annotated[
        float | None, typer.Option(help="Rate of the latency run; default half the best measured rate.")
    ] = None,
    phases: Annotated[str, typer.Option(help="Phases to run: ceiling,platform,latency.")] = "ceiling,platform,latency",
    repeat: Annotated[int, typer.Option(help="Runs of each throughput phase; the median is reported.")] = 3,
) -> None:
    """MQTT client ceiling vs committed rate, latency at half load, API visibility, memory, CPU."""
    from benchmarks.ingest import main

    logs.configure("WARNING")
    main(
        messages,
        [int(k) for k in workers.split(",")],
        latency_seconds,
        latency_rate=latency_rate,
        phases=tuple(phases.split(",")),
        repeat=repeat,
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


if __name__ == "__main__":
    app()
