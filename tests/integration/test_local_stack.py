"""The project's own stack: own ports and state folder, idempotent, beside the system services."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from deploy.local_stack import LocalStack
from device_adapters.registry import FAMILIES
from device_adapters.storage import CopyTarget

pytestmark = pytest.mark.integration


def test_stack_runs_on_its_own_ports_with_timescaledb(stack) -> None:
    statuses = {s.name: s for s in LocalStack(stack).status()}
    assert statuses["mosquitto"].running and statuses["postgres"].running
    assert stack.mqtt_port != 1883 and stack.pg_port != 5432
    with psycopg.connect(LocalStack(stack).superuser_dsn(stack.pg_database)) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (stack.pg_user,)).fetchone()[0]
        hypertables = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
    assert "timescaledb" in preload
    assert superuser is False  # the platform's role is not a superuser
    # every family's time-keyed series is a hypertable (the fixture family's included)
    series = {t.table for f in FAMILIES for t in f.storage if isinstance(t, CopyTarget) and "time" in t.key}
    assert series and hypertables == series


def test_second_up_is_a_quick_no_op(stack) -> None:
    pids = [s.detail for s in LocalStack(stack).status()]
    started = time.monotonic()
    LocalStack(stack).up()
    elapsed = time.monotonic() - started
    assert [s.detail for s in LocalStack(stack).status()] == pids  # same processes, not restarted
    assert elapsed < 30  # generous bound; the figure itself is reported by `tlab stack up` timing in the README


def _listener_pid(port: int) -> str | None:
    """The pid listening on 127.0.0.1:port, from `ss` (None if nothing listens)."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    match = re.search(r"pid=(\d+)", out)
    return match.group(1) if match else None


def test_a_second_stack_lives_and_dies_beside_the_system_services(settings, tmp_path_factory) -> None:
    """A whole extra instance (own ports, own state) goes up and down; whatever listens on the system
    ports 1883 and 5432 before is the same process after."""
    before = {port: _listener_pid(port) for port in (1883, 5432)}
    state = Path("/var/tmp") / f"tlab-stack-test-{os.getpid()}"
    # +250: clear of the test stacks' ports (the second process's are +100), of this test's in the other process
    # and of `./lab run`'s (18830, 18840, 18883, 15432), which a developer may have up while the suite runs (+8
    # landed on 18840, the run stack's service port; +100 on the second process's stack)
    other = settings.model_copy(
        update={
            "state_dir": state,
            "mqtt_port": settings.mqtt_port + 250,
            "mqtt_tls_port": settings.mqtt_tls_port + 250,
            "mqtt_service_port": settings.mqtt_service_port + 250,
            "pg_port": settings.pg_port + 250,
        }
    )
    local = LocalStack(other)
    try:
        local.up()
        assert all(s.running for s in local.status())
        assert (state / "postgres" / "data" / "PG_VERSION").exists()
        files = ("passwd-devices", "acl-devices", "passwd-services", "acl-services")
        assert all((state / "mosquitto" / name).exists() for name in files)
        with psycopg.connect(other.database_url) as conn:
            assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        local.down()
        assert not any(s.running for s in local.status())
    finally:
        local.reset()
    assert not state.exists()
    assert {port: _listener_pid(port) for port in (1883, 5432)} == before


def test_the_database_asks_every_local_user_for_a_password(stack) -> None:
    """Issue 8, defect 9: pg_hba trusted 127.0.0.1, so any local user (nobody) could log in as the
    platform and insert an admin token. Now TCP needs the generated password (mode 600); the trusted
    socket sits in a folder only the stack's owner can enter."""
    for secret in (stack.pg_secret_file, stack.pg_owner_secret_file):
        assert secret.stat().st_mode & 0o777 == 0o600
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://{stack.pg_user}@{stack.pg_host}:{stack.pg_port}/{stack.pg_database}").close()
    with psycopg.connect(stack.database_url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (stack.pg_user,)
    socket_dir = stack.state_dir / "postgres" / "run"
    assert socket_dir.stat().st_mode & 0o777 == 0o700
    if os.geteuid() == 0:  # as another local user, through both doors
        for host, user in ((str(socket_dir), "postgres"), (stack.pg_host, stack.pg_user)):
            tried = subprocess.run(
                [
                    "runuser",
                    "-u",
                    "nobody",
                    "--",
                    "psql",
                    "-w",
                    "-h",
                    host,
                    "-p",
                    str(stack.pg_port),
                    "-U",
                    user,
                    "-d",
                    stack.pg_database,
                    "-c",
                    "SELECT 1",
                ],
                capture_output=True,
                text=True,
                cwd="/",
            )
            assert tried.returncode != 0, (host, tried.stdout)
            assert "Permission denied" in tried.stderr or "password" in tried.stderr, tried.stderr


def test_the_run_commands_live_counts_ride_out_a_database_restart(stack, uid) -> None:
    """Issue 8, defect 12: `./lab run` died with AdminShutdown when PostgreSQL restarted. The broker files'
    owner rides it out too: a device provisioned after the restart reaches the broker."""
    from tests.integration.helpers import keyring
    from tlab.supervisor import LiveCounts

    counts = LiveCounts(stack.database_url)
    local = LocalStack(stack)
    try:
        assert counts.line().startswith("devices=")
        local.postgres_down()
        assert counts.line().startswith("database unavailable")
        local.postgres_up()
        assert counts.line().startswith("devices=")
        keyring(stack).ensure({f"restart{uid}": "ptipot"})  # waits until the broker accepts it
    finally:
        local.postgres_up()
        counts.close()


def test_a_supervised_process_is_restarted_with_backoff_and_never_given_up(monkeypatch) -> None:
    from tlab import supervisor

    started: list[float] = []

    def fake_start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        started.append(time.monotonic())
        return subprocess.Popen(["sh", "-c", "exit 3"])

    monkeypatch.setattr(supervisor, "_start", fake_start)
    child = supervisor.Child("dies", [], {}, fake_start([], {}))
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        child.restart_if_dead()
        time.sleep(0.05)
    assert child.restarts >= 3  # 1 s, 2 s, 4 s: restarted every time, more slowly each time
    gaps = [b - a for a, b in zip(started, started[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps[1:], gaps[2:], strict=False)), gaps


def test_live_counts_count_what_arrived_since_the_run_started(stack, ingest, db, uid) -> None:
    """The counts read only the recent chunks of each series: a late reading (older than the run) is
    stored but not counted as new."""
    from datetime import UTC, datetime, timedelta

    from tests.conftest import count, wait_for
    from tests.integration.helpers import garden, publish_all
    from tlab.supervisor import LiveCounts

    def numbers() -> dict[str, int]:
        return {k: int(v) for k, v in (pair.split("=") for pair in counts.line().split())}

    counts = LiveCounts(stack.database_url, since=datetime.now(UTC) - timedelta(seconds=5))
    try:
        before = numbers()
        device = f"lc{uid}"
        now = datetime.now(UTC).isoformat()
        publish_all(stack, [garden(device, now), garden(device, "2026-01-01T00:00:00Z")])
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
        after = numbers()
    finally:
        counts.close()
    assert after["garden_readings"] - before["garden_readings"] == 1
    assert set(after) >= {"devices", "garden_readings", "drone_telemetry", "missions", "dead_letters", "open_alerts"}
