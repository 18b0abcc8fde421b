"""Device provisioning: MQTT credentials issued from the registry, and the broker files derived from it.

A device's secret is random (192 bits), shown once, and stored only as Mosquitto's password hash
(``$7$``: PBKDF2-SHA512), so the broker's password files and ACLs can be regenerated from the registry at
any time. Devices and the platform's own accounts live on separate listeners with separate files
(``render_device_files`` here; the platform's own in core/broker_credentials.py): a device logs in only on
the device listeners, publishes only the topics its family declares (``device_topics``) and reads only
``<family>/<device_id>/downlink/…``. Ids starting with ``tlab-`` are the platform's.

Every change of a device's credentials sends ``NOTIFY tlab_broker_credentials`` in its transaction: the
files' one owner (core/broker_credentials.py) rewrites them when the change commits, wherever the
change was made (the API, the CLI).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from device_adapters.registry import ADAPTERS, device_topics
from device_adapters.validation import DEVICE_ID

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


def _notify_broker(conn: psycopg.Connection[Any], device_id: str) -> None:
    conn.execute("SELECT pg_notify(%s, %s)", (CREDENTIALS_CHANNEL, device_id))


def _check(device_id: str, family: str) -> None:
    if device_id.lower().startswith(RESERVED_PREFIX):
        raise RegistryError(f"device ids starting with {RESERVED_PREFIX!r} are reserved for the platform's accounts")
    if not DEVICE_ID.match(device_id):
        raise RegistryError(f"device id {device_id!r} must match {DEVICE_ID.pattern}")
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
) -> Credentials:
    """Register a device (or a self-registered one) and issue its first credentials."""
    _check(device_id, family)
    secret = secrets.token_urlsafe(24)
    row = conn.execute(
        "INSERT INTO devices (device_id, family, pilot, location, description, labels, mqtt_password_hash, "
        "credentials_issued_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "
        "ON CONFLICT (device_id) DO UPDATE SET pilot = EXCLUDED.pilot, location = EXCLUDED.location, "
        "description = EXCLUDED.description, labels = EXCLUDED.labels, "
        "mqtt_password_hash = EXCLUDED.mqtt_password_hash, credentials_issued_at = now(), revoked_at = NULL "
        "WHERE devices.family = EXCLUDED.family AND devices.mqtt_password_hash IS NULL RETURNING device_id",
        (device_id, family, pilot, location, description, Jsonb(labels or {}), mosquitto_hash(secret)),
    ).fetchone()
    if row is None:
        raise RegistryError(f"device {device_id!r} already has credentials or another family: rotate or revoke it")
    _notify_broker(conn, device_id)
    return Credentials(device_id, family, device_id, secret)


def set_labels(conn: psycopg.Connection[Any], device_id: str, labels: dict[str, str]) -> bool:
    """Replace a device's labels (rule scopes and silences select on them; alerts keep the labels their
    device had when they fired). False if there is no such device."""
    cur = conn.execute("UPDATE devices SET labels = %s WHERE device_id = %s", (Jsonb(labels), device_id))
    return bool(cur.rowcount)


def rotate(conn: psycopg.Connection[Any], device_id: str) -> Credentials:
    """New secret; the old one stops working at the next broker reload."""
    secret = secrets.token_urlsafe(24)
    row = conn.execute(
        "UPDATE devices SET mqtt_password_hash = %s, credentials_issued_at = now(), revoked_at = NULL "
        "WHERE device_id = %s AND mqtt_password_hash IS NOT NULL RETURNING family",
        (mosquitto_hash(secret), device_id),
    ).fetchone()
    if row is None:
        raise RegistryError(f"device {device_id!r} has no credentials to rotate")
    family = row["family"] if isinstance(row, dict) else row[0]
    _notify_broker(conn, device_id)
    return Credentials(device_id, family, device_id, secret)


def revoke(conn: psycopg.Connection[Any], device_id: str) -> None:
    cur = conn.execute(
        "UPDATE devices SET mqtt_password_hash = NULL, revoked_at = now() WHERE device_id = %s "
        "AND mqtt_password_hash IS NOT NULL",
        (device_id,),
    )
    if cur.rowcount != 1:
        raise RegistryError(f"device {device_id!r} has no active credentials")
    _notify_broker(conn, device_id)


def _credentialed(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT device_id, family, mqtt_password_hash FROM devices WHERE mqtt_password_hash IS NOT NULL "
            "ORDER BY device_id"
        )
        .fetchall()
    )


def render_device_files(conn: psycopg.Connection[Any], mount: str) -> tuple[str, str]:
    """(password file, ACL) of the device listeners: every device with credentials, nothing else.
    ``mount`` is the listeners' mount point: the broker checks ACLs against the mounted topic."""
    devices = _credentialed(conn)
    passwd = "".join(f"{d['device_id']}:{d['mqtt_password_hash']}\n" for d in devices)
    parts = ["# Devices, generated from the registry (core/device_registry.py); do not edit."]
    for d in devices:
        writes = "".join(f"topic write {mount}{t}\n" for t in device_topics(d["family"], d["device_id"]))
        parts.append(f"user {d['device_id']}\n{writes}topic read {mount}{d['family']}/{d['device_id']}/downlink/#")
    return passwd, "\n\n".join(parts) + "\n"


class RegistryProvisioner:
    """Credentials straight from the registry, as the lab's admin issues them with `tlab devices provision`
    (a new secret for a device already provisioned: a rotation). For the admin's own tools (tests, the
    ingest benchmark); simulators go through the API. Satisfies sim.credentials.Provisioner."""

    def __init__(self, database_url: str, pilot: str | None = None) -> None:
        self.database_url = database_url
        self.pilot = pilot

    def issue(self, device_id: str, family: str) -> str:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            try:
                return provision(conn, device_id, family, pilot=self.pilot).password
            except RegistryError:
                return rotate(conn, device_id).password
