"""``tlab run``: the whole platform on one machine, each part in its own process.

Order: stack up -> migrations -> the declared processes (``core/platform.py``, in its order: the broker
credentials' owner first, the API last) -> simulators (which get their credentials from the API, as a
device maker does); live counts every few seconds. Ctrl-C (or SIGTERM) stops simulators first, then the
workers (ingest flushes and acknowledges), then the API and the credentials' owner, then the stack, so
nothing that was published is left half-processed. The same list gives compose and Kubernetes
(``tlab deploy render``), so what runs here is what a city deploys.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.db import connect, one_row
from core.errors import first_line
from core.migrate import migrate
from core.platform import PROCESSES, Process
from core.platform import process as declared
from core.private_files import write_private
from core.processes import port_open, wait_http
from core.settings import Settings
from deploy.local_stack import LocalStack
from device_adapters.registry import FAMILIES
from device_adapters.storage import CopyTarget
from sim.credentials import DeviceKeyring


def count_sql() -> tuple[list[str], str]:
    """(labels, query) of the live counts: rows stored since the run started (``%(since)s``), per table of
    every family (from the registry), and dead letters. A time-keyed series is counted over its recent
    chunks only (never a count(*) of a whole hypertable every few seconds); state tables (a row per
    mission, per event) and the registry are small and counted whole."""
    parts = ["(SELECT count(*) FROM devices) AS devices"]
    for family in FAMILIES:
        for spec in family.storage:
            table = spec.record_type.table  # type: ignore[attr-defined]
            if any(f"AS {table}" in p for p in parts):
                continue
            series = isinstance(spec, CopyTarget) and "time" in spec.key
            recent = " WHERE time >= %(since)s" if series else ""
            parts.append(f"(SELECT count(*) FROM {table}{recent}) AS {table}")
    parts.append("(SELECT count(*) FROM dead_letters WHERE last_received_at >= %(since)s) AS dead_letters")
    parts.append("(SELECT count(*) FROM alerts WHERE state <> 'resolved') AS open_alerts")
    parts.append("(SELECT count(*) FROM observations WHERE state <> 'withdrawn') AS observations")
    labels = [p.rsplit(" AS ", 1)[1] for p in parts]
    return labels, "SELECT " + ", ".join(parts)


@dataclass
class Child:
    """A supervised process, restarted whenever it dies, with a growing delay while it keeps dying (1 s,
    doubling up to a minute; back to 1 s once it has lived a minute), like systemd's RestartSec with a
    backoff. The platform is never given up on: what kills a process is fixed, not waited out."""

    name: str
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)
    delay_s: float = 1.0
    restart_at: float | None = None
    restarts: int = 0

    def restart_if_dead(self) -> None:
        code = self.process.poll()
        if code is None:
            if time.monotonic() - self.started_at > 60:
                self.delay_s = 1.0
            return
        now = time.monotonic()
        if self.restart_at is None:
            self.restart_at = now + self.delay_s
            print(f"{self.name} exited with {code}; restarting it in {self.delay_s:.0f} s", file=sys.stderr, flush=True)
            self.delay_s = min(60.0, self.delay_s * 2)
        if now >= self.restart_at:
            self.process, self.started_at, self.restart_at = _start(self.args, self.env), now, None
            self.restarts += 1


class LiveCounts:
    """The run's live counts. A database that restarts or is down is shown as such; it never stops
    the platform (the workers hold their batches meanwhile)."""

    def __init__(self, database_url: str, since: datetime | None = None) -> None:
        self.database_url = database_url
        self.since = since or datetime.now(UTC)
        self._conn: psycopg.Connection[Any] | None = None

    def line(self) -> str:
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = connect(self.database_url, connect_timeout=3)
            labels, query = count_sql()
            row = one_row(self._conn.execute(query, {"since": self.since}))
        except psycopg.OperationalError as exc:
            self.close()
            return f"database unavailable ({first_line(exc)})"
        return "  ".join(f"{n}={row[n]}" for n in labels)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tlab.cli", *args], env=env, start_new_session=True)


def _spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    return Child(name, args, env, _start(args, env))


def _stop(children: list[Child], timeout: float = 20) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.process.wait(timeout)
        except subprocess.TimeoutExpired:
            child.process.kill()


def _demo_admin_token(settings: Settings) -> str:
    """A fresh local admin token each run, and one per role (the previous demo tokens are revoked), kept in the
    state folder."""
    from services.auth.roles import Role
    from services.auth.tokens import create_token

    with connect(settings.database_url) as conn:
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name LIKE 'demo-%' AND revoked_at IS NULL")
        token = create_token(conn, "demo-admin", [Role.ADMIN]).token
        # one per role too, to try the console as each of the city's services would (docs/console.md)
        (settings.state_dir / "tokens").mkdir(mode=0o700, exist_ok=True)
        for role in Role:
            issued = create_token(conn, f"demo-{role.value}", [role]).token
            write_private(settings.state_dir / "tokens" / f"{role.value}.token", issued + "\n")
    write_private(settings.state_dir / "admin.token", token + "\n")
    return token


def simulated_devices(fleet: dict[str, int]) -> dict[str, str]:
    """device id -> family of every device the run command simulates (``fleet``: family -> how many)."""
    found: dict[str, str] = {}
    for family in FAMILIES:
        if family.simulator is not None and fleet.get(family.name):
            found.update(family.simulator.device_families(fleet[family.name]))
    return found


def metrics_address(settings: Settings, process: Process) -> tuple[str, int]:
    """Where a declared process serves ``/metrics`` and its health (0: off)."""
    host = getattr(settings, process.metrics_host_setting, "127.0.0.1")
    return str(host), int(getattr(settings, process.metrics_port_setting, process.metrics_port))


def ports_in_use(settings: Settings) -> list[str]:
    """A sentence for each declared process whose port another process holds already."""
    taken = []
    for process in PROCESSES:
        host, port = metrics_address(settings, process)
        if port and port_open(host, port):
            variable = "TLAB_" + process.metrics_port_setting.upper()
            taken.append(f"port {port} for {process.name} is taken by another process: stop it or set {variable}")
    return taken


def platform_commands() -> list[tuple[str, list[str]]]:
    """(name, ``tlab`` arguments) of every process ``./lab run`` supervises, in start order."""
    return [(process.name, list(process.command)) for process in PROCESSES]


def run_platform(settings: Settings, *, fleet: dict[str, int], seed: int, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    taken = ports_in_use(settings)
    if taken:
        print("\n".join(taken), file=sys.stderr)
        return 2
    stack = LocalStack(settings)
    print(f"starting the stack in {settings.state_dir} ...", flush=True)
    stack.up()
    migrate(settings)
    stack.sync_auth_from_registry()
    token = _demo_admin_token(settings)
    env = dict(os.environ)
    children = [_spawn(name, args, env) for name, args in platform_commands()]
    first = {p.name for p in PROCESSES if p.stop_first}
    base = f"http://{settings.api_host}:{settings.api_port}"
    health = f"{base}{declared('api').health_path}"
    if not wait_http(health, 30):
        print(f"the API did not answer on {health}", file=sys.stderr)
        _stop(children[::-1])
        return 1
    print("provisioning the simulated devices ...", flush=True)
    DeviceKeyring(settings).ensure(simulated_devices(fleet))
    sims = [
        _spawn(f"{args[0]}-{k + 1}", ["sim", *args], env)
        for n, family in enumerate(FAMILIES)
        if family.simulator is not None
        for k, args in enumerate(family.simulator.run_processes(fleet.get(family.name, 0), seed + 10 * n))
    ]
    print(
        "\nTerritoire Lab is running\n"
        f"  API       {base}/v1   (docs: {base}/docs, health: {base}/health)\n"
        f"  Console   {base}/console/   (staff pages in French; sign in with a role's demo token from "
        f"{settings.state_dir / 'tokens'}/<role>.token)\n"
        f"  MQTT      mqtt://{settings.mqtt_host}:{settings.mqtt_port}   "
        "(anonymous refused; devices log in with `tlab devices provision` credentials)\n"
        + (
            f"  MQTTS     mqtts://{settings.mqtt_host}:{settings.mqtt_tls_port}  (CA: {settings.mqtt_tls_trust})\n"
            if settings.mqtt_tls_port
            else ""
        )
        + "  Workers   Prometheus /metrics and /healthz (core/platform.py):\n"
        + "".join(
            f"            {p.name:<19} http://{host}:{port}/metrics\n"
            for p in PROCESSES
            for host, port in [metrics_address(settings, p)]
            if port and p.name != "api"
        )
        + f"  Database  {settings.database_url_shown}  (password: {settings.pg_secret_file})\n"
        f"  Admin token (local demo, new each run; also in {settings.state_dir / 'admin.token'}):\n"
        f"            {token}\n"
        f'  Try      curl -H "Authorization: Bearer $(cat {settings.state_dir / "admin.token"})" {base}/v1/devices\n'
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    code = 0
    counts = LiveCounts(settings.database_url)
    print(
        "live counts every 5 s: rows stored since this run started (devices: all registered; open alerts: now)",
        flush=True,
    )
    try:
        ticks = 0
        while not stop.wait(1):
            # a simulator that finished its run is done; the other processes are restarted if they die
            for child in children:
                child.restart_if_dead()
            ticks += 1
            if ticks % 5 == 0:
                print(counts.line(), flush=True)
    finally:
        counts.close()
        print("stopping ...", flush=True)
        _stop(sims)
        _stop([c for c in children if c.name in first])
        _stop([c for c in children if c.name not in first])
        stack.down()
        print("stopped.", flush=True)
    return code
