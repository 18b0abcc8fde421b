"""MQTT credentials of simulated devices, obtained the way a device maker obtains them.

A simulator is a device: it never opens the database or writes the broker's files. A device maker gets
a device's secret once, from the lab's admin (``POST /v1/devices`` on the API, or ``tlab devices
provision``), and keeps it in the device's own storage; the broker takes it when the files' owner has
rewritten them (core/broker_credentials.py). The simulators' "own storage" is a JSON file in the state
folder (mode 600): ``DeviceKeyring.ensure`` asks its ``Provisioner`` for the devices it has no secret
for (a device registered earlier whose secret was lost gets a new one: a rotation), then waits until
the broker accepts them. A file lock makes concurrent simulators (``./lab run`` starts several) take turns.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.private_files import write_private
from core.settings import Settings

if TYPE_CHECKING:  # imported when used: `tlab ingest` loads this module through the CLI and needs no HTTP client
    import httpx

logger = logging.getLogger(__name__)


class KeyringError(RuntimeError):
    """Credentials could not be obtained or the broker did not take them; the message says why."""


class Provisioner(Protocol):
    def issue(self, device_id: str, family: str) -> str:
        """A new secret for ``device_id`` of ``family`` (registering the device if it is new)."""
        ...


class ApiProvisioner:
    """Credentials from the platform's admin API, with an admin token: ``client`` is an ``httpx.Client``
    with the API's base URL and the token (FastAPI's TestClient is one too)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiProvisioner:
        """The local API, with ``TLAB_API_TOKEN`` or the admin token ``./lab run`` keeps in the state folder."""
        token = os.environ.get("TLAB_API_TOKEN")
        token_file = settings.state_dir / "admin.token"
        if not token and token_file.exists():
            token = token_file.read_text().strip()
        if not token:
            raise KeyringError(
                f"no admin token to provision devices: set TLAB_API_TOKEN or run `./lab run` ({token_file})"
            )
        import httpx

        base = f"http://{settings.api_host}:{settings.api_port}"
        return cls(httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10))

    def issue(self, device_id: str, family: str) -> str:
        import httpx

        try:
            answer = self.client.post("/v1/devices", json={"device_id": device_id, "family": family, "pilot": "sim",
                                                           "position": sim_position(device_id)})  # fmt: skip
            if answer.status_code == 409:  # registered before: check it is ours, then rotate its secret
                known = self.client.get(f"/v1/devices/{device_id}")
                if known.status_code == 200 and known.json().get("family") != family:
                    raise KeyringError(f"device {device_id!r} is registered as {known.json().get('family')!r}")
                answer = self.client.post(f"/v1/devices/{device_id}/credentials")
        except httpx.HTTPError as exc:
            raise KeyringError(f"the API did not answer ({exc}): is the platform running? (`./lab run`)") from exc
        if answer.status_code not in (200, 201):
            raise KeyringError(f"the API refused {device_id!r}: {answer.status_code} {answer.text[:300]}")
        secret: str = answer.json()["mqtt_password"]
        return secret


class DeviceKeyring:
    def __init__(self, settings: Settings, provisioner: Provisioner | None = None, path: Path | None = None) -> None:
        self.settings = settings
        self._provisioner = provisioner
        self.path = path or settings.state_dir / "sim-devices.json"

    @property
    def provisioner(self) -> Provisioner:
        if self._provisioner is None:
            self._provisioner = ApiProvisioner.from_settings(self.settings)
        return self._provisioner

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            known: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
            before = dict(known)
            yield known
            if known != before:
                write_private(self.path, json.dumps(known, indent=1, sort_keys=True))

    def secret(self, device_id: str) -> str | None:
        if not self.path.exists():
            return None
        known: dict[str, str] = json.loads(self.path.read_text())
        return known.get(device_id)

    def ensure(self, devices: Mapping[str, str]) -> dict[str, str]:
        """Credentials (device id -> secret) for ``devices`` (device id -> family), obtaining the missing ones."""
        with self._locked() as known:
            changed = [device_id for device_id in sorted(devices) if device_id not in known]
            for device_id in changed:
                known[device_id] = self.provisioner.issue(device_id, devices[device_id])
            result = {d: known[d] for d in devices}
        if changed:
            logger.info("provisioned simulated devices", extra={"devices": len(changed)})
            for device_id in changed:
                wait_until_accepted(self.settings, device_id, result[device_id])
        return result


def broker_answer(settings: Settings, username: str, password: str) -> str:
    """What the broker answers a device login with these credentials ("Success", "Not authorized", ...)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    outcome: list[str] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: outcome.append(str(rc))
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=5)
        stop = time.monotonic() + 2
        while not outcome and time.monotonic() < stop:
            client.loop(0.05)
    except OSError as exc:
        outcome.append(str(exc))
    finally:
        client.disconnect()
    return outcome[0] if outcome else "no answer"


def wait_until_accepted(settings: Settings, username: str, password: str, timeout: float = 10.0) -> None:
    """Block until the broker accepts these credentials: its files are rewritten and reloaded asynchronously."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        last = broker_answer(settings, username, password)
        if last == "Success":
            return
        time.sleep(0.05)
    raise KeyringError(f"the broker did not accept {username!r} within {timeout}s (last answer: {last})")


SIM_CENTRE = (50.5303, 2.6408)  # the simulated devices stand around Béthune, the lab's agglomeration


def sim_position(device_id: str) -> dict[str, float]:
    """A simulated device's position: within about 2 km of ``SIM_CENTRE``, the same for the same id."""
    digest = hashlib.sha256(device_id.encode()).digest()
    north, east = (int.from_bytes(digest[i : i + 2], "big") / 65535 - 0.5 for i in (0, 2))
    return {"lat": round(SIM_CENTRE[0] + north * 0.036, 6), "lon": round(SIM_CENTRE[1] + east * 0.055, 6)}
