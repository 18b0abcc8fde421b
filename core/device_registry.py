"""Device provisioning: MQTT credentials issued from the registry, and the broker files derived from it.

A device's secret is random (192 bits), shown once, and stored only as Mosquitto's password hash
(``$7$``: PBKDF2-SHA512), so the broker's password files and ACLs can be regenerated from the registry at
any time. Devices and the platform's own accounts live on separate listeners with separate files
(``render_device_files`` here; the platform's own in core/broker_credentials.py): a device logs in only on
the device listeners, publishes only the topics its family declares (``device_topics``) and reads only
``<family>/<device_id>/downlink/…``. Ids starting with ``tlab-`` are the platform's.

Every change of a device's credentials moves the registry's generation on (``broker_credentials_state``)
and sends ``NOTIFY tlab_broker_credentials`` in its transaction: the files' one owner
(core/broker_credentials.py) rewrites them when the change commits, wherever the change was made (the
API, the CLI), and records the generation the broker has taken, which provisioning waits for.

Ids are checked whole (``fullmatch``: a ``$`` also matches before a final newline, and an id ending in
one split the broker's files), and the files are rendered from rows checked again: a row no
provisioning path writes (a hand-made INSERT) is skipped and logged, never written.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import connect, scalar
from core.geo import Position
from device_adapters.registry import ADAPTERS, device_topics
from device_adapters.validation import DEVICE_ID

logger = logging.getLogger(__name__)

CREDENTIALS_CHANNEL = "tlab_broker_credentials"
MOSQUITTO_PBKDF2_ITERATIONS = 101  # Mosquitto 2.0's own default; the secrets are random, not passwords


class RegistryError(ValueError):
    """A provisioning request that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class Credentials:
    device_id: str
    family: str
    username: str
    password: str  # shown once
    generation: int = 0  # the registry's generation with this change: the broker has it once it applied it


def mosquitto_hash(secret: str, salt: bytes | None = None, iterations: int = MOSQUITTO_PBKDF2_ITERATIONS) -> str:
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_hash_matches(hashed: str, secret: str) -> bool:
    """Whether ``hashed`` (Mosquitto's ``$7$`` format) is the hash of ``secret``."""
    try:
        _, _, iterations, salt, _digest = hashed.split("$")
        return mosquitto_hash(secret, base64.b64decode(salt), int(iterations)) == hashed
    except ValueError:
        return False


RESERVED_PREFIX = "tlab-"  # the platform's accounts and client ids (tlab-ingest, tlab-ingest-1, ...)
# A password file line as Mosquitto reads it: ``<user>:$7$<iterations>$<salt b64>$<digest b64>``.
MOSQUITTO_HASH = re.compile(r"\$7\$[0-9]{1,9}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}")


def _notify_broker(conn: psycopg.Connection[Any], device_id: str) -> int:
    """Move the registry's generation on (the row lock orders changes as they commit) and wake the
    files' owner; returns the generation that carries this change."""
    generation = scalar(conn, "UPDATE broker_credentials_state SET generation = generation + 1 RETURNING generation")
    conn.execute("SELECT pg_notify(%s, %s)", (CREDENTIALS_CHANNEL, device_id))
    return int(generation or 0)


def valid_device_id(device_id: object) -> bool:
    """Whether ``device_id`` is a device id as a whole (ASCII letters, digits, ``_.-``; not reserved)."""
    return (
        isinstance(device_id, str)
        and DEVICE_ID.fullmatch(device_id) is not None
        and not device_id.lower().startswith(RESERVED_PREFIX)
    )


def _check(device_id: str, family: str) -> None:
    if device_id.lower().startswith(RESERVED_PREFIX):
        raise RegistryError(f"device ids starting with {RESERVED_PREFIX!r} are reserved for the platform's accounts")
    if not DEVICE_ID.fullmatch(device_id):
        raise RegistryError(
            f"device id {device_id[:80]!r}{'...' if len(device_id) > 80 else ''} must match {DEVICE_ID.pattern}"
        )
    if family not in {a.family for a in ADAPTERS.values()}:
        raise RegistryError(f"unknown family {family!r} (known: {sorted(a.family for a in ADAPTERS.values())})")


def provision(
    conn: psycopg.Connection[Any],
    device_id: str,
    family: str,
    *,
    pilot: str | None = None,
    location: str | None = None,
    description: str | None = None,
    labels: dict[str, str] | None = None,
    position: Position | None = None,
) -> Credentials:
    """Register a device (or a self-registered one) and issue its first credentials."""
    _check(device_id, family)
    secret = secrets.token_urlsafe(24)
    lat, lon = (position.lat, position.lon) if position else (None, None)
    source = "provisioning" if position else None
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO devices (device_id, family, pilot, location, description, labels, mqtt_password_hash, "
            "credentials_issued_at, lat, lon, position_source, position_at) VALUES (%s, %s, %s, %s, %s, %s, %s, "
            "now(), %s, %s, %s, CASE WHEN %s::text IS NULL THEN NULL ELSE now() END) "
            "ON CONFLICT (device_id) DO UPDATE SET pilot = EXCLUDED.pilot, location = EXCLUDED.location, "
            "description = EXCLUDED.description, labels = EXCLUDED.labels, "
            "mqtt_password_hash = EXCLUDED.mqtt_password_hash, credentials_issued_at = now(), revoked_at = NULL, "
            "lat = coalesce(EXCLUDED.lat, devices.lat), lon = coalesce(EXCLUDED.lon, devices.lon), "
            "position_source = coalesce(EXCLUDED.position_source, devices.position_source), "
            "position_at = coalesce(EXCLUDED.position_at, devices.position_at) "
            "WHERE devices.family = EXCLUDED.family AND devices.mqtt_password_hash IS NULL RETURNING device_id",
            (device_id, family, pilot, location, description, Jsonb(labels or {}), mosquitto_hash(secret), lat, lon,
             source, source),
        ).fetchone()  # fmt: skip
        if row is None:
            raise RegistryError(f"device {device_id!r} already has credentials or another family: rotate or revoke it")
        generation = _notify_broker(conn, device_id)
    return Credentials(device_id, family, device_id, secret, generation)


def set_labels(conn: psycopg.Connection[Any], device_id: str, labels: dict[str, str]) -> bool:
    """Replace a device's labels (rule scopes and silences select on them; alerts keep the labels their
    device had when they fired). False if there is no such device."""
    cur = conn.execute("UPDATE devices SET labels = %s WHERE device_id = %s", (Jsonb(labels), device_id))
    return bool(cur.rowcount)


def set_position(conn: psycopg.Connection[Any], device_id: str, position: Position | None) -> bool:
    """Set (or, with None, clear) a device's position, recorded as set through the API now. False if there is
    no such device."""
    lat, lon = (position.lat, position.lon) if position else (None, None)
    cur = conn.execute(
        "UPDATE devices SET lat = %(lat)s, lon = %(lon)s, position_source = CASE WHEN %(lat)s::float8 IS NULL "
        "THEN NULL ELSE 'api' END, position_at = CASE WHEN %(lat)s::float8 IS NULL THEN NULL ELSE now() END, "
        "position_accuracy_m = NULL "
        "WHERE device_id = %(device)s",
        {"lat": lat, "lon": lon, "device": device_id},
    )
    return bool(cur.rowcount)


def rotate(conn: psycopg.Connection[Any], device_id: str) -> Credentials:
    """New secret; the old one stops working at the next broker reload."""
    secret = secrets.token_urlsafe(24)
    with conn.transaction():
        family = scalar(
            conn,
            "UPDATE devices SET mqtt_password_hash = %s, credentials_issued_at = now(), revoked_at = NULL "
            "WHERE device_id = %s AND mqtt_password_hash IS NOT NULL RETURNING family",
            (mosquitto_hash(secret), device_id),
        )
        if family is None:
            raise RegistryError(f"device {device_id!r} has no credentials to rotate")
        generation = _notify_broker(conn, device_id)
    return Credentials(device_id, family, device_id, secret, generation)


def revoke(conn: psycopg.Connection[Any], device_id: str) -> int:
    """Withdraw a device's credentials; returns the registry generation that carries the change."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE devices SET mqtt_password_hash = NULL, revoked_at = now() WHERE device_id = %s "
            "AND mqtt_password_hash IS NOT NULL",
            (device_id,),
        )
        if cur.rowcount != 1:
            raise RegistryError(f"device {device_id!r} has no active credentials")
        return _notify_broker(conn, device_id)


def _credentialed(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT device_id, family, mqtt_password_hash FROM devices WHERE mqtt_password_hash IS NOT NULL "
        "ORDER BY device_id"
    ).fetchall()


def _renderable(d: dict[str, Any]) -> str | None:
    """Why the row ``d`` cannot go into the broker's files (None: it can). A bad id would split a line
    (a newline), name another user or add ACL lines; a bad hash would make Mosquitto refuse the file."""
    if not valid_device_id(d["device_id"]):
        return "invalid_device_id"
    if d["family"] not in {a.family for a in ADAPTERS.values()}:
        return "unknown_family"
    if not isinstance(d["mqtt_password_hash"], str) or not MOSQUITTO_HASH.fullmatch(d["mqtt_password_hash"]):
        return "invalid_password_hash"
    return None


def render_device_files(
    conn: psycopg.Connection[Any], mount: str, extra: dict[str, str] | None = None
) -> tuple[str, str]:
    """(password file, ACL) of the device listeners: every device with credentials, nothing else, plus
    ``extra`` (login -> hash: the owner's probe account, which may publish and read nothing).
    ``mount`` is the listeners' mount point: the broker checks ACLs against the mounted topic. Every row
    is checked before it is written: one bad line makes Mosquitto drop the whole file (every ACL gone)."""
    devices = []
    for d in _credentialed(conn):
        problem = _renderable(d)
        if problem:
            logger.error(
                "broker credentials: registry row skipped", extra={"device_id": repr(d["device_id"]), "reason": problem}
            )
            continue
        devices.append(d)
    passwd = "".join(f"{d['device_id']}:{d['mqtt_password_hash']}\n" for d in devices)
    parts = ["# Devices, generated from the registry (core/device_registry.py); do not edit."]
    for d in devices:
        writes = "".join(f"topic write {mount}{t}\n" for t in device_topics(d["family"], d["device_id"]))
        parts.append(f"user {d['device_id']}\n{writes}topic read {mount}{d['family']}/{d['device_id']}/downlink/#")
    for login, hashed in sorted((extra or {}).items()):
        passwd += f"{login}:{hashed}\n"
        parts.append(f"user {login}")  # no topic line: it may do nothing but log in
    return passwd, "\n\n".join(parts) + "\n"


class RegistryProvisioner:
    """Credentials straight from the registry, as the lab's admin issues them with `tlab devices provision`
    (a new secret for a device already provisioned: a rotation). For the admin's own tools (tests, the
    ingest benchmark); simulators go through the API. Satisfies sim.credentials.Provisioner."""

    def __init__(self, database_url: str, pilot: str | None = None) -> None:
        self.database_url = database_url
        self.pilot = pilot

    def issue(self, device_id: str, family: str) -> str:
        with connect(self.database_url) as conn:
            try:
                return provision(conn, device_id, family, pilot=self.pilot).password
            except RegistryError:
                return rotate(conn, device_id).password
