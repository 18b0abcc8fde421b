"""MQTT credentials of simulated devices, provisioned through the device registry like real ones.

A real device gets its secret once, from ``tlab devices provision``, and keeps it in its own storage.
The simulators' "own storage" is a JSON file in the state folder (mode 600): ``DeviceKeyring.ensure``
provisions the devices it does not know yet (or rotates one whose secret was lost with the file),
regenerates the broker's password file and ACL, and waits until the broker has reloaded them. A file
lock makes concurrent simulators (``./lab run`` starts several at once) take turns.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from tlab.settings import Settings

logger = logging.getLogger(__name__)


class KeyringError(RuntimeError):
    """Credentials could not be provisioned or the broker did not take them; the message says why."""


class DeviceKeyring:
    def __init__(self, settings: Settings, path: Path | None = None) -> None:
        self.settings = settings
        self.path = path or settings.state_dir / "sim-devices.json"

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            known: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
            before = dict(known)
            yield known
            if known != before:
                tmp = self.path.with_suffix(".new")
                tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
                tmp.chmod(0o600)
                tmp.replace(self.path)

    def secret(self, device_id: str) -> str | None:
        if not self.path.exists():
            return None
        known: dict[str, str] = json.loads(self.path.read_text())
        return known.get(device_id)

    def ensure(self, devices: Mapping[str, str]) -> dict[str, str]:
        """Credentials (device id -> secret) for ``devices`` (device id -> family), provisioning what is
        missing in the registry and on the broker."""
        from deploy.local_stack import LocalStack
        from services.device_registry import RegistryError, mosquitto_hash_matches, provision, rotate

        with self._locked() as known, psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            changed: list[str] = []
            for device_id, family in sorted(devices.items()):
                row = conn.execute(
                    "SELECT family, mqtt_password_hash FROM devices WHERE device_id = %s", (device_id,)
                ).fetchone()
                if row and row[0] != family:
                    raise KeyringError(f"device {device_id!r} is registered as {row[0]!r}, not {family!r}")
                if row and row[1] and device_id in known and mosquitto_hash_matches(row[1], known[device_id]):
                    continue
                try:
                    creds = (
                        rotate(conn, device_id) if row and row[1] else provision(conn, device_id, family, pilot="sim")
                    )
                except RegistryError as exc:
                    raise KeyringError(str(exc)) from exc
                known[device_id] = creds.password
                changed.append(device_id)
            if changed:
                LocalStack(self.settings).sync_auth(conn)
                logger.info("provisioned simulated devices", extra={"devices": len(changed)})
            result = {d: known[d] for d in devices}
        if changed:
            wait_until_accepted(self.settings, changed[-1], result[changed[-1]])
        return result


def wait_until_accepted(settings: Settings, username: str, password: str, timeout: float = 10.0) -> None:
    """Block until the broker accepts these credentials: it reloads its files on SIGHUP, asynchronously."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        client.username_pw_set(username, password)
        outcome: list[str] = []
        client.on_connect = lambda _c, _u, _f, rc, _p, seen=outcome: seen.append(str(rc))
        try:
            client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=5)
            stop = time.monotonic() + 2
            while not outcome and time.monotonic() < stop:
                client.loop(0.05)
        except OSError as exc:
            outcome.append(str(exc))
        finally:
            client.disconnect()
        last = outcome[0] if outcome else "no answer"
        if last == "Success":
            return
        time.sleep(0.05)
    raise KeyringError(f"the broker did not accept {username!r} within {timeout}s (last answer: {last})")
