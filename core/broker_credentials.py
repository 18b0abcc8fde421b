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

Mosquitto reloads on SIGHUP asynchronously: a device handed its password the moment the files were
written was refused for the second the reload took. So every write adds a probe login with a fresh
secret to the device listeners (``tlab-broker-probe``: no topic, may do nothing), then logs in with it
until the broker accepts (a real login: the reload is done), and records the registry generation the
files hold in ``broker_credentials_applied``; provisioning waits for its generation (``wait_applied``).
The probe speaks MQTT, which the core does not: the layer that runs the owner gives it
(``use_login_probe``; deploy/broker_probe.py registers itself when imported).

The owner survives any error (a database recreated under it, its grants gone, a disk full): it logs,
backs off, reconnects, takes the lock again and rewrites.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from core.db import connect, scalar
from core.device_registry import (
    CREDENTIALS_CHANNEL,
    MOSQUITTO_HASH,
    mosquitto_hash,
    mosquitto_hash_matches,
    render_device_files,
)
from core.listening import listen_and_work
from core.private_files import write_private
from core.processes import pid_alive
from core.settings import INGEST_MQTT_USER, Settings

logger = logging.getLogger(__name__)

DEVICE_FILES = ("passwd-devices", "acl-devices")
SERVICE_FILES = ("passwd-services", "acl-services")
# pg_advisory_lock key of the owner ("tlabbrkr" as a number): one writer of the files at a time.
OWNER_LOCK = 0x746C_6162_6272_6B72
PROBE_USER = "tlab-broker-probe"  # on the device listeners, with no topic: it can only log in
# the platform's accounts: ASCII only (``str.isalnum`` takes any script's letters and digits)
SERVICE_ACCOUNT = re.compile(r"tlab-[a-z0-9]+(?:-[a-z0-9]+)*")
# an ACL line of a service account: one of Mosquitto's access words, a topic without control characters
ACL_LINE = re.compile(r"topic (?:read|write|readwrite|deny) [^\x00-\x20\x7f]+")
PROBE_TIMEOUT_S = 10.0

LoginProbe = Callable[[Settings, str, str], bool]
"""``probe(settings, username, secret)``: whether the broker's device listener accepts this login now."""
_login_probe: LoginProbe | None = None


def use_login_probe(probe: LoginProbe) -> None:
    """Give the writers the MQTT login probe (the core speaks no MQTT; deploy/broker_probe.py gives it)."""
    global _login_probe
    _login_probe = probe


class BrokerCredentialsError(RuntimeError):
    """The files could not be written; the message says why."""


def render_service_files(accounts: dict[str, tuple[str, list[str]]], mount: str) -> tuple[str, str]:
    """(password file, ACL) of the platform's listener: ``accounts`` is name -> (hash, extra ACL lines).
    The ingest account reads everything devices send and writes under the device mount (downlinks, and
    the empty retained messages that clear a retained copy a device may not keep)."""
    passwd = ""
    parts = ["# The platform's accounts (core/broker_credentials.py); devices cannot log in on this listener."]
    for name, (hashed, lines) in sorted(accounts.items()):
        if name == INGEST_MQTT_USER:
            lines = [f"topic read {mount}#", f"topic write {mount}#", "topic write tlab/#", *lines]
        bad = [line for line in lines if not isinstance(line, str) or not ACL_LINE.fullmatch(line)]
        valid_name = name == INGEST_MQTT_USER or SERVICE_ACCOUNT.fullmatch(name)
        if not valid_name or not isinstance(hashed, str) or not MOSQUITTO_HASH.fullmatch(hashed) or bad:
            # one bad line makes Mosquitto drop the whole file: skip the account, never write it
            logger.error("broker credentials: service account skipped", extra={"account": repr(name), "acl": repr(bad)})
            continue
        passwd += f"{name}:{hashed}\n"
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

    def write(self, conn: psycopg.Connection[Any] | None) -> str | None:
        """Write the platform's accounts and, when the registry is given, every provisioned device; then
        make a running local broker reload them. Returns the secret of the probe login written with the
        devices (None without the registry)."""
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
        probe_secret = None
        if conn is not None:
            probe_secret = secrets.token_urlsafe(24)
            probe = {PROBE_USER: mosquitto_hash(probe_secret)}
            files.update(zip(DEVICE_FILES, render_device_files(conn, mount, probe), strict=True))
        elif not (d / DEVICE_FILES[0]).exists():
            files.update(dict.fromkeys(DEVICE_FILES, ""))  # no device yet: nobody logs in there
        local = d == self.local_dir
        is_root = os.geteuid() == 0
        owner = None
        if local and is_root:
            entry = pwd.getpwnam("mosquitto")
            owner = (entry.pw_uid, entry.pw_gid)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            # a shared folder is read by a broker running as another user (hashes only, never secrets)
            mode = (0o640 if is_root else 0o600) if local else 0o644
            write_private(d / name, text, mode=mode, owner=owner)
        pid = pid_alive(self.local_dir / "mosquitto.pid")
        if pid:
            os.kill(pid, signal.SIGHUP)
        return probe_secret

    def confirm_loaded(self, probe_secret: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
        """Whether the broker took the files just written: their probe login is accepted (Mosquitto
        reloads after SIGHUP at its own pace). False when no probe is available or the broker does not
        accept it within ``timeout`` (down, or elsewhere and not reloaded yet)."""
        probe = _login_probe
        if probe is None:
            logger.warning("broker credentials: no login probe, the reload cannot be confirmed")
            return False
        if self.auth_dir == self.local_dir and pid_alive(self.local_dir / "mosquitto.pid") is None:
            return False  # the local broker is not running: nothing has loaded the files
        deadline = time.monotonic() + timeout
        while True:
            if probe(self.settings, PROBE_USER, probe_secret):
                return True
            if time.monotonic() > deadline:
                logger.warning("broker credentials: the broker did not take the new files", extra={"timeout": timeout})
                return False
            time.sleep(0.02)

    def add_service_account(self, name: str, acl_lines: list[str]) -> str:
        """An extra account on the service listener (a test's fault injector, a benchmark's load
        generator), kept in the state folder so every later write keeps it; returns its secret."""
        if name in (INGEST_MQTT_USER, PROBE_USER) or not SERVICE_ACCOUNT.fullmatch(name):
            raise BrokerCredentialsError(f"invalid service account name {name!r}")
        bad = [line for line in acl_lines if not ACL_LINE.fullmatch(line)]
        if bad:
            raise BrokerCredentialsError(f"invalid ACL lines {bad!r}: 'topic read|write|readwrite|deny <topic>'")
        secret = secrets.token_urlsafe(24)
        self.accounts_dir.mkdir(parents=True, exist_ok=True)
        write_private(
            self.accounts_dir / f"{name}.json", json.dumps({"hash": mosquitto_hash(secret), "acl": acl_lines})
        )
        return secret

    def _extra_accounts(self) -> dict[str, tuple[str, list[str]]]:
        if not self.accounts_dir.is_dir():
            return {}
        accounts = {}
        for path in self.accounts_dir.glob("*.json"):
            try:
                entry = json.loads(path.read_text())
                accounts[path.stem] = (entry["hash"], list(entry["acl"]))
            except (OSError, ValueError, KeyError, TypeError) as exc:  # one broken file costs its account only
                logger.error(
                    "broker credentials: service account file skipped", extra={"path": str(path), "error": str(exc)}
                )
        return accounts


def _generation(conn: psycopg.Connection[Any]) -> int:
    """The registry's credential generation, read *before* the devices: every change that carries a
    generation up to it has committed, so the devices read next include it."""
    return int(scalar(conn, "SELECT generation FROM broker_credentials_state") or 0)


def _record_applied(conn: psycopg.Connection[Any], generation: int) -> None:
    conn.execute(
        "UPDATE broker_credentials_applied SET generation = greatest(generation, %s), applied_at = now()",
        (generation,),
    )


def apply(files: BrokerCredentials, conn: psycopg.Connection[Any]) -> bool:
    """Write the files from the registry, make the broker reload them, and once a login probe shows it
    has, record the generation they hold. Returns whether the broker confirmed."""
    generation = _generation(conn)
    probe_secret = files.write(conn)
    if probe_secret is None or not files.confirm_loaded(probe_secret):
        return False
    _record_applied(conn, generation)
    return True


def owner_running(conn: psycopg.Connection[Any]) -> bool:
    """Whether a ``tlab broker-credentials`` holds the files' lock (in this database)."""
    held = scalar(
        conn,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
        (OWNER_LOCK >> 32, OWNER_LOCK & 0xFFFFFFFF),
    )
    return bool(held)


def wait_applied(conn: psycopg.Connection[Any], generation: int, timeout: float) -> bool:
    """Wait (at most ``timeout`` s) until the broker has taken the registry's ``generation``. Returns
    at once with False when no owner runs: nobody would apply it (``tlab devices sync-broker`` does)."""
    deadline = time.monotonic() + timeout
    while True:
        applied = scalar(conn, "SELECT generation FROM broker_credentials_applied")
        if applied is not None and int(applied) >= generation:
            return True
        if time.monotonic() > deadline or not owner_running(conn):
            return False
        time.sleep(0.05)


def sync_once(settings: Settings) -> bool:
    """Write the files from the registry now, unless the owner runs (it holds the lock and has the change
    already, through its notification). Returns whether this call wrote them."""
    with connect(settings.database_url) as conn:
        if not scalar(conn, "SELECT pg_try_advisory_lock(%s)", (OWNER_LOCK,)):
            return False
        try:
            apply(BrokerCredentials(settings), conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (OWNER_LOCK,))
    return True


class BrokerCredentialsOwner:
    """The one writer of the broker's files: waits for the lock (a second owner is a hot standby), writes
    the files, then rewrites them whenever the registry notifies a change (a burst is one rewrite).
    Any failure (the database gone, recreated, its grants not there yet; a file not writable) is logged
    and retried with backoff on a new connection; on reconnect the lock is taken again and the files
    rewritten, so a change made while nobody listened is not missed. Only ``stop`` ends it."""

    def __init__(self, settings: Settings, poll_s: float = 0.5) -> None:
        self.settings = settings
        self.files = BrokerCredentials(settings)
        self.poll_s = poll_s
        self.writes = 0
        self.owning = threading.Event()
        # what runs each notified rewrite; the metrics wrap it to count passes and errors by kind
        self.wrap_pass: Callable[[Callable[[Any], bool]], Callable[[Any], bool]] = lambda work: work

    def run(self, stop: threading.Event) -> None:
        listen_and_work(
            self.settings.database_url,
            CREDENTIALS_CHANNEL,
            self.wrap_pass(self._rewrite),
            stop,
            ready=self.owning,
            poll_s=self.poll_s,
            name="broker credentials",
            on_connect=lambda conn: self._take_lock(conn, stop),
            # the one writer must outlive any error (a database recreated, not migrated or granted yet; a file
            # not writable), and say it
            survives=(Exception,),
            only_when_notified=True,
        )

    def _take_lock(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Once per connection: wait for the lock (another owner runs: stand by), then write the files, so
        a change made while nobody listened is not missed."""
        while not stop.is_set():
            if scalar(conn, "SELECT pg_try_advisory_lock(%s)", (OWNER_LOCK,)):
                self._write(conn)
                return
            stop.wait(2.0)

    def _rewrite(self, conn: psycopg.Connection[Any]) -> bool:
        self._write(conn)
        return False

    def _write(self, conn: psycopg.Connection[Any]) -> None:
        confirmed = apply(self.files, conn)
        self.writes += 1
        logger.info("broker credentials written", extra={"writes": self.writes, "confirmed": confirmed})
