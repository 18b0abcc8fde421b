"""``tlab devices``: device credentials from the registry, gateways' cameras and privacy masks."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from core.settings import Settings
from tlab.commands import load_settings


def _family_help() -> str:
    """The registered families, from the registry (a family added there is offered here with no edit)."""
    from device_adapters.registry import FAMILIES

    names = [f.name for f in FAMILIES]
    return f"{', '.join(names[:-1])} or {names[-1]}." if len(names) > 1 else f"{names[0]}."


devices_app = typer.Typer(help="Device provisioning: MQTT credentials from the registry.", no_args_is_help=True)


def _registry_change(change: Any) -> Any:
    """Run a registry change, and return once the broker has taken it (a device can log in with what is
    printed at once, as the README's example does). The registry notifies the broker files' owner (``tlab
    broker-credentials``, run by ``./lab run``); with no owner running, the files are written here. If the
    broker has not confirmed within TLAB_MQTT_CREDENTIALS_WAIT_S, stderr says so (stdout keeps only what
    was asked for, so ``PW=$(…)`` still gets the password)."""
    from core.broker_credentials import sync_once, wait_applied
    from core.db import connect
    from core.device_registry import Credentials, RegistryError
    from deploy import broker_probe  # noqa: F401 - the writer confirms the reload with a login

    settings = load_settings()
    try:
        with connect(settings.database_url) as conn:
            result = change(conn)
    except RegistryError as exc:
        raise typer.BadParameter(str(exc)) from exc
    sync_once(settings)
    generation = result.generation if isinstance(result, Credentials) else int(result)
    with connect(settings.database_url) as conn:
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
    family: Annotated[str, typer.Option(help=_family_help())],
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
    _print_credentials(creds, load_settings(), password_only)


@devices_app.command("rotate")
def devices_rotate(device_id: str, password_only: PasswordOnly = False) -> None:
    """Issue a new password, printed once the broker takes it; the old one stops working then (a connected
    device is dropped)."""
    from core.device_registry import rotate

    _print_credentials(_registry_change(lambda conn: rotate(conn, device_id)), load_settings(), password_only)


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

    written = sync_once(load_settings())
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
    from core.db import connect
    from core.gateways import GatewayError, map_camera

    size = None
    if detect is not None:
        try:
            width, height = (int(v) for v in detect.lower().split("x"))
            size = (width, height)
        except ValueError as exc:
            raise typer.BadParameter(f"--detect {detect!r}: WIDTHxHEIGHT, e.g. 1280x720") from exc
    try:
        with connect(load_settings().database_url) as conn:
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
    from core.db import connect
    from core.gateways import unmap_camera

    with connect(load_settings().database_url) as conn:
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
    from core.db import connect
    from core.privacy_masks import masks_of, set_masks
    from device_adapters.masking import MaskError, parse_polygon

    with connect(load_settings().database_url) as conn:
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
    from core.db import connect
    from core.gateways import cameras_of

    with connect(load_settings().database_url) as conn:
        for c in cameras_of(conn, gateway_id):
            size = f"  {c.detect_width}x{c.detect_height}" if c.detect_width else ""
            typer.echo(f"{c.camera_name} -> {c.device_id}{size}")
