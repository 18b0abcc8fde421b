"""Gateways: one login that speaks for many devices (a Frigate NVR for its cameras).

A gateway is a registered device of the cameras' family with credentials of its own; its messages name
a camera by the name it has in the gateway's own configuration, and ``gateway_cameras`` says which
registered camera that is. Ingest resolves the name for every message (``ingest/writer.py``): a name not
mapped is dead-lettered, so a gateway cannot speak for a camera it does not own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg

from core.db import scalar

# A camera's name in Frigate's configuration: ASCII letters, digits, underscores and hyphens.
CAMERA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class GatewayError(ValueError):
    """A mapping the registry refuses; the message says why."""


def valid_camera_name(name: str) -> bool:
    """Whether ``name`` is a camera name as a whole (what a gateway's topics and events may name)."""
    return CAMERA_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class GatewayCamera:
    gateway_id: str
    camera_name: str
    device_id: str
    detect_width: int | None
    detect_height: int | None


def map_camera(
    conn: psycopg.Connection[Any],
    gateway_id: str,
    camera_name: str,
    device_id: str,
    detect_size: tuple[int, int] | None = None,
) -> GatewayCamera:
    """Say that ``camera_name`` of ``gateway_id`` is the registered camera ``device_id`` (re-mapping a
    name replaces its camera). Both must be registered devices of the same family."""
    if not valid_camera_name(camera_name):
        raise GatewayError(
            f"camera name {camera_name!r} must match {CAMERA_NAME.pattern} (as in Frigate's configuration)"
        )
    families = (
        scalar(
            conn,
            "SELECT jsonb_object_agg(device_id, family) FROM devices WHERE device_id = ANY(%s)",
            ([gateway_id, device_id],),
        )
        or {}
    )
    for which, name in (("gateway", gateway_id), ("camera", device_id)):
        if name not in families:
            raise GatewayError(f"{which} {name!r} is not a registered device")
    if families[gateway_id] != families[device_id]:
        raise GatewayError(
            f"gateway {gateway_id!r} is a {families[gateway_id]} device, camera {device_id!r} a "
            f"{families[device_id]} one: a gateway speaks for devices of its own family"
        )
    width, height = detect_size or (None, None)
    try:
        conn.execute(
            "INSERT INTO gateway_cameras (gateway_id, camera_name, device_id, detect_width, detect_height) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (gateway_id, camera_name) DO UPDATE SET "
            "device_id = EXCLUDED.device_id, detect_width = EXCLUDED.detect_width, "
            "detect_height = EXCLUDED.detect_height, mapped_at = now()",
            (gateway_id, camera_name, device_id, width, height),
        )
    except psycopg.errors.UniqueViolation as exc:
        raise GatewayError(f"camera {device_id!r} is already behind another gateway or name") from exc
    except (psycopg.errors.CheckViolation, psycopg.errors.DataError) as exc:
        raise GatewayError(
            f"camera name {camera_name!r} (Frigate's: letters, digits, _ and -, 1-64) or detect size "
            f"{detect_size} refused; or a gateway mapped to itself"
        ) from exc
    return GatewayCamera(gateway_id, camera_name, device_id, width, height)


def unmap_camera(conn: psycopg.Connection[Any], gateway_id: str, camera_name: str) -> bool:
    row = conn.execute(
        "DELETE FROM gateway_cameras WHERE gateway_id = %s AND camera_name = %s RETURNING 1",
        (gateway_id, camera_name),
    ).fetchone()
    return row is not None


def cameras_of(conn: psycopg.Connection[Any], gateway_id: str) -> list[GatewayCamera]:
    rows = conn.execute(
        "SELECT gateway_id, camera_name, device_id, detect_width, detect_height FROM gateway_cameras "
        "WHERE gateway_id = %s ORDER BY camera_name",
        (gateway_id,),
    ).fetchall()
    return [GatewayCamera(**r) for r in rows]
