"""Which devices ingest accepts messages from: those the registry has provisioned and not revoked.

The broker's ACL already lets a device publish only under its own topics; this is the second lock, for
whatever gets past the first (a message queued before a revocation, an ACL edited by hand, a bridge
or service account publishing for devices). MQTT does not tell a subscriber who published a message,
so the identity checked is the one in the topic, which the ACL ties to the login; a device id inside
a payload is never used.

The registry is read whole into memory (one row per device) every ``ttl_s`` seconds; a device the
cache does not know is looked up by its key before it is refused (no negative cache: a device
provisioned a moment ago is accepted at once; a flood of unknown ids costs one key lookup per message,
next to the dead-letter row each one writes anyway). A revocation takes effect within ``ttl_s``.

A gateway (one login for many cameras: ``core/gateways.py``) passes this check as itself; the cameras it
names are resolved by ``GatewayDirectory``, cached the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

SELECT_ENTRIES = (
    "SELECT device_id, family, mqtt_password_hash IS NOT NULL AS active, revoked_at IS NOT NULL AS revoked FROM devices"
)


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    family: str
    active: bool  # has credentials
    revoked: bool


@dataclass(frozen=True, slots=True)
class IdentityRefusal:
    code: str
    reason: str


def _entry(row: dict[str, Any]) -> RegistryEntry:
    return RegistryEntry(row["family"], row["active"], row["revoked"])


class DeviceDirectory:
    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, RegistryEntry] = {}
        self._loaded_at = float("-inf")

    def _load(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute(SELECT_ENTRIES).fetchall()
        self._entries = {r["device_id"]: _entry(r) for r in rows}
        self._loaded_at = time.monotonic()

    def _lookup(self, conn: psycopg.Connection[Any], device_id: str) -> RegistryEntry | None:
        row = conn.execute(SELECT_ENTRIES + " WHERE device_id = %s", (device_id,)).fetchone()
        if row is None:
            return None
        entry = self._entries[device_id] = _entry(row)
        return entry

    def refresh_if_stale(self, conn: psycopg.Connection[Any]) -> None:
        if time.monotonic() - self._loaded_at > self.ttl_s:
            self._load(conn)

    def check(self, conn: psycopg.Connection[Any], family: str, device_id: str) -> IdentityRefusal | None:
        """None if ``device_id`` may send as ``family``; else why not."""
        entry = self._entries.get(device_id)
        if entry is None or not entry.active:  # provisioned or re-provisioned since the last load?
            entry = self._lookup(conn, device_id)
        if entry is None or (not entry.active and not entry.revoked):
            return IdentityRefusal(
                "unregistered_device",
                f"device {device_id!r} has no credentials in the registry "
                f"(provision it: tlab devices provision {device_id} --family {family})",
            )
        if not entry.active:
            return IdentityRefusal("revoked_device", f"device {device_id!r} has been revoked")
        if entry.family != family:
            return IdentityRefusal(
                "family_mismatch", f"device {device_id!r} is registered as {entry.family!r}, not {family!r}"
            )
        return None


class GatewayDirectory:
    """(gateway, the name it gives a device) -> the registered device, read whole every ``ttl_s`` seconds;
    a pair the cache does not know is looked up before it is refused (a camera mapped a moment ago is
    accepted at once). A mapping removed takes effect within ``ttl_s``."""

    SELECT = "SELECT gateway_id, camera_name, device_id FROM gateway_cameras"

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._devices: dict[tuple[str, str], str] = {}
        self._loaded_at = float("-inf")

    def resolve(self, conn: psycopg.Connection[Any], gateway_id: str, name: str) -> str | None:
        if time.monotonic() - self._loaded_at > self.ttl_s:
            self._devices = {(r["gateway_id"], r["camera_name"]): r["device_id"] for r in conn.execute(self.SELECT)}
            self._loaded_at = time.monotonic()
        found = self._devices.get((gateway_id, name))
        if found is None:
            row = conn.execute(
                self.SELECT + " WHERE gateway_id = %s AND camera_name = %s", (gateway_id, name)
            ).fetchone()
            if row is not None:
                found = self._devices[(gateway_id, name)] = row["device_id"]
        return found
