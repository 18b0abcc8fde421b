"""The broker's password files and ACLs, derived from the device registry, and their one writer.

Devices and the platform's accounts live on separate listeners with separate files: a device logs in
only on the device listeners, publishes only the topics its family declares and reads only its own
downlinks; the platform's accounts (ingest, a test's injector, a benchmark's load generator) log in on
the service listener. Every file holds hashes only (Mosquitto's ``$7$``), never a secret.

One process owns the files (``tlab broker-credentials``, started by ``./lab run``; beside the broker
elsewhere): it holds a PostgreSQL advisory lock while it runs, rewrites the files on start, then on
every ``NOTIFY`` the registry sends when a device's credentials change, and makes the local broker
reload them (SIGHUP: no restart; a client whose password no longer holds is dropped). So a device
provisioned through the API on another host reaches the broker without the API touching a file, and
two writers never race. ``sync_once`` is the same write for a one-off (``tlab stack up``, the CLI when
no owner runs): it takes the lock too, or leaves the write to the owner that holds it.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import secrets
import signal
import threading
from typing import Any

import psycopg

from core.device_registry import CREDENTIALS_CHANNEL, mosquitto_hash, mosquitto_hash_matches, render_device_files
from core.errors import first_line
from core.processes import pid_alive
from core.settings import INGEST_MQTT_USER, Settings

logger = logging.getLogger(__name__)

DEVICE_FILES = ("passwd-devices", "acl-devices")
SERVICE_FILES = ("passwd-services", "acl-services")
# pg_advisory_lock key of the owner ("tlabbrkr" as a number): one writer of the files at a time.
OWNER_LOCK = 0x746C_6162_6272_6B72


class BrokerCredentialsError(RuntimeError):
    """The files could not be written; the message says why."""


def render_service_files(accounts: dict[str, tuple[str, list[str]]], mount: str) -> tuple[str, str]:
    """(password file, ACL) of the platform's listener: ``accounts`` is name -> (hash, extra ACL lines).
    The ingest account reads everything devices send and writes under the device mount (downlinks, and
    the empty retained messages that clear a retained copy a device may not keep)."""
    passwd = "".join(f"{name}:{hashed}\n" for name, (hashed, _) in sorted(accounts.items()))
    parts = ["# The platform's accounts (core/broker_credentials.py); devices cannot log in on this listener."]
    for name, (_, lines) in sorted(accounts.items()):
        if name == INGEST_MQTT_USER:
            lines = [f"topic read {mount}#", f"topic write {mount}#", "topic write tlab/#", *lines]
        parts.append(f"user {name}\n" + "\n".join(lines))
    return passwd, "\n\n".join(parts) + "\n"


class BrokerCredentials:
    """The files of one broker: in the local stack's broker folder, or in ``TLAB_MQTT_AUTH_DIR`` (a folder
    shared with a broker elsewhere, e.g. a docker-compose volume the broker container reads)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local_dir = settings.state_dir / "mosquitto"
        self.auth_dir = settings.mqtt_auth_dir or self.local_dir
        self.accounts_dir = self.local_dir / "service-accounts"

    def present(self) -> bool:
        return all((self.auth_dir / name).exists() for name in (*DEVICE_FILES, *SERVICE_FILES))

    def write(self, conn: psycopg.Connection[Any] | None) -> None:
        """Write the platform's accounts and, when the registry is given, every provisioned device; then
        make a running local broker reload them."""
        credentials = self.settings.mqtt_credentials()
        if credentials is None:
            raise BrokerCredentialsError(
                "no password for the platform's MQTT account: run `tlab stack up` or set TLAB_MQTT_PASSWORD"
            )
        d = self.auth_dir
        previous = (d / SERVICE_FILES[0]).read_text() if (d / SERVICE_FILES[0]).exists() else ""
        kept = next(
            (line.split(":", 1)[1] for line in previous.splitlines() if line.startswith(f"{INGEST_MQTT_USER}:")), None
        )
        # keep the ingest hash while its secret is unchanged (a new salt each write would churn the file)
        if kept is None or not mosquitto_hash_matches(kept, credentials[1]):
            kept = mosquitto_hash(credentials[1])
        mount = self.settings.mqtt_device_mount
        accounts = {INGEST_MQTT_USER: (kept, []), **self._extra_accounts()}
        files = dict(zip(SERVICE_FILES, render_service_files(accounts, mount), strict=True))
        if conn is not None:
            files.update(zip(DEVICE_FILES, render_device_files(conn, mount), strict=True))
        elif not (d / DEVICE_FILES[0]).exists():
            files.update(dict.fromkeys(DEVICE_FILES, ""))  # no device yet: nobody logs in there
        local = d == self.local_dir
        is_root = os.geteuid() == 0
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            tmp = d / f".{name}.new"
            tmp.write_text(text)
            # a shared folder is read by a broker running as another user (hashes only, never secrets)
            tmp.chmod((0o640 if is_root else 0o600) if local else 0o644)
            if local and is_root:
                entry = pwd.getpwnam("mosquitto")
                os.chown(tmp, entry.pw_uid, entry.pw_gid)
            os.replace(tmp, d / name)
        pid = pid_alive(self.local_dir / "mosquitto.pid")
        if pid:
            os.kill(pid, signal.SIGHUP)

    def add_service_account(self, name: str, acl_lines: list[str]) -> str:
        """An extra account on the service listener (a test's fault injector, a benchmark's load
        generator), kept in the state folder so every later write keeps it; returns its secret."""
        if name == INGEST_MQTT_USER or not name.startswith("tlab-") or not name.replace("-", "").isalnum():
            raise BrokerCredentialsError(f"invalid service account name {name!r}")
        secret = secrets.token_urlsafe(24)
        self.accounts_dir.mkdir(parents=True, exist_ok=True)
        path = self.accounts_dir / f"{name}.json"
        path.write_text(json.dumps({"hash": mosquitto_hash(secret), "acl": acl_lines}))
        path.chmod(0o600)
        return secret

    def _extra_accounts(self) -> dict[str, tuple[str, list[str]]]:
        if not self.accounts_dir.is_dir():
            return {}
        accounts = {}
        for path in self.accounts_dir.glob("*.json"):
            entry = json.loads(path.read_text())
            accounts[path.stem] = (entry["hash"], list(entry["acl"]))
        return accounts


def sync_once(settings: Settings) -> bool:
    """Write the files from the registry now, unless the owner runs (it holds the lock and has the change
    already, through its notification). Returns whether this call wrote them."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (OWNER_LOCK,)).fetchone()
        if not (row and row[0]):
            return False
        try:
            BrokerCredentials(settings).write(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (OWNER_LOCK,))
    return True


class BrokerCredentialsOwner:
    """The one writer of the broker's files: waits for the lock (a second owner is a hot standby), writes
    the files, then rewrites them whenever the registry notifies a change (a burst is one rewrite).
    A lost database connection is retried; on reconnect the files are rewritten, so a change made
    while nobody listened is not missed."""

    def __init__(self, settings: Settings, poll_s: float = 0.5) -> None:
        self.settings = settings
        self.files = BrokerCredentials(settings)
        self.poll_s = poll_s
        self.writes = 0
        self.owning = threading.Event()

    def run(self, stop: threading.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                self._own(stop)
                delay = 1.0
            except psycopg.OperationalError as exc:
                if self.owning.is_set():  # it was working: the growing delay starts over
                    delay = 1.0
                self.owning.clear()
                logger.warning("broker credentials: database unavailable", extra={"error": first_line(exc)})
                stop.wait(delay)
                delay = min(30.0, delay * 2)

    def _own(self, stop: threading.Event) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (OWNER_LOCK,)).fetchone()
                if row and row[0]:
                    break
                stop.wait(2.0)  # another owner runs: stand by
            if stop.is_set():
                return
            conn.execute(f"LISTEN {CREDENTIALS_CHANNEL}")
            self._write(conn)
            self.owning.set()
            while not stop.is_set():
                if list(conn.notifies(timeout=self.poll_s)):
                    self._write(conn)

    def _write(self, conn: psycopg.Connection[Any]) -> None:
        self.files.write(conn)
        self.writes += 1
        logger.info("broker credentials written", extra={"writes": self.writes})
