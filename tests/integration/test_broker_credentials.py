"""The broker's files against ids the API never issues, and the promise that provisioning returns once the
broker takes the credentials (issue 19, items 12, 14, 15): through the real Mosquitto and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from core.broker_credentials import OWNER_LOCK
from core.device_registry import RegistryError, mosquitto_hash, provision
from core.processes import pid_alive
from core.settings import REPO_ROOT
from sim.credentials import broker_answer, wait_until_accepted
from sim.publisher import CountingPublisher, OutboundMessage
from tests.conftest import wait_for
from tests.integration.helpers import worker_env

pytestmark = pytest.mark.integration

# ids a device maker could type or paste, none of which the API issues
BAD_IDS = [
    "dev\n",  # Python's `$` matches before a final newline
    "dev\r",
    "dev\r\n",
    "de\nv",
    "de v",
    "dev ",
    "dev\t",
    "d\u0435v",  # Cyrillic 'е'
    "dev\u2028",
    "dev\u00a0",
    "\uff44ev",  # fullwidth 'd'
    "a" * 65,
    "",
    "-dev",
    "dev/x",
    "dev#",
    "dev+",
    "tlab-probe",
]
GOOD_PASSWD_LINE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}:\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")


def _cli(stack: Any, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = worker_env(stack, f"tlab-test-cli-{uuid.uuid4().hex[:6]}")
    return subprocess.run(
        [sys.executable, "-m", "tlab.cli", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _publisher(stack: Any, username: str, password: str) -> CountingPublisher:
    pub = CountingPublisher(
        stack.mqtt_host, stack.mqtt_port, f"{username}-{uuid.uuid4().hex[:6]}", credentials=(username, password)
    )
    pub.connect(timeout=10)
    return pub


def _reading(device: str) -> OutboundMessage:
    return OutboundMessage(
        f"ptipot/{device}/readings", json.dumps({"ts": "2026-11-28T10:00:00Z", "rain_mm": 0}).encode()
    )


# ---- item 12: ids are checked whole, and the files are always well-formed ------------------------
@pytest.mark.parametrize("bad", BAD_IDS)
def test_the_registry_refuses_ids_the_api_refuses(db, bad: str) -> None:
    with pytest.raises(RegistryError):
        provision(db, bad, "ptipot")


@pytest.mark.parametrize("bad", ["dev\n", "dev\r", "de v", "d\u0435v", "a" * 65])
def test_the_api_refuses_the_same_ids(api, bad: str) -> None:
    answer = api.post("/v1/devices", json={"device_id": bad, "family": "ptipot"})
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("bad", ["dev%0A", "dev%0D", "de%20v", "d%D0%B5v", "dev%E2%80%A8", "a" * 65, "x" * 5000])
def test_the_api_refuses_them_in_paths(api, bad: str) -> None:
    for method, path, body in (
        ("POST", f"/v1/devices/{bad}/credentials", None),
        ("DELETE", f"/v1/devices/{bad}/credentials", None),
        ("PUT", f"/v1/devices/{bad}/labels", {"labels": {}}),
    ):
        answer = api.request(method, path, json=body)
        assert answer.status_code == 422, (method, path, answer.status_code, answer.text)


def test_the_cli_refuses_an_id_ending_in_a_newline(stack, db, uid) -> None:
    done = _cli(stack, "devices", "provision", f"nl{uid}\n", "--family", "ptipot", "--password-only")
    assert done.returncode != 0 and "must match" in done.stderr, done
    assert db.execute("SELECT count(*) AS n FROM devices WHERE device_id LIKE %s", (f"nl{uid}%",)).fetchone()["n"] == 0


def test_a_bad_row_in_the_registry_never_reaches_the_broker_files(stack, api, db, uid) -> None:
    """Rows no provisioning path writes (a hand-made INSERT, an old bug): the writer skips them, so the
    files stay well-formed, Mosquitto keeps every ACL and the other devices stay confined."""
    devices = {}
    for name in ("a", "b"):
        made = api.post("/v1/devices", json={"device_id": f"{name}{uid}", "family": "ptipot"})
        assert made.status_code == 201, made.text
        devices[name] = made.json()
        wait_until_accepted(stack, devices[name]["mqtt_username"], devices[name]["mqtt_password"])
    a, b = devices["a"], devices["b"]
    secret = "known-secret"
    hashed = mosquitto_hash(secret)
    bad_rows = {
        f"bad{uid}\n": hashed,
        f"inj{uid}\nuser {a['device_id']}\ntopic readwrite #": hashed,
        f"sp{uid} x": hashed,
        "tlab-broker-probe": hashed,
        f"hash{uid}": "not-a-hash\ntopic readwrite #",
    }
    bad_ids = list(bad_rows)
    try:
        for bad, bad_hash in bad_rows.items():
            db.execute(
                "INSERT INTO devices (device_id, family, mqtt_password_hash, credentials_issued_at) "
                "VALUES (%s, 'ptipot', %s, now())",
                (bad, bad_hash),
            )
        # a registry change after the bad rows: the owner rewrites the files with them in the registry
        c = api.post("/v1/devices", json={"device_id": f"c{uid}", "family": "ptipot"}).json()
        wait_until_accepted(stack, c["mqtt_username"], c["mqtt_password"])
        passwd = (stack.state_dir / "mosquitto" / "passwd-devices").read_text()
        acl = (stack.state_dir / "mosquitto" / "acl-devices").read_text()
        assert all(GOOD_PASSWD_LINE.fullmatch(line) for line in passwd.splitlines()), passwd
        assert f"bad{uid}" not in passwd + acl and f"inj{uid}" not in passwd + acl and f"sp{uid}" not in acl
        assert f"hash{uid}" not in passwd + acl
        assert "topic readwrite #" not in acl
        # the other devices still log in, and are still confined by their ACL
        pub = _publisher(stack, a["mqtt_username"], a["mqtt_password"])
        try:
            assert pub.publish(_reading(a["device_id"]))
            assert pub.publish(_reading(b["device_id"]))  # taken by paho; the broker must refuse it
            assert pub.flush(10)
        finally:
            pub.close()
        assert pub.counts.acked == 1 and pub.counts.failed == 1, pub.counts
        assert broker_answer(stack, b["mqtt_username"], b["mqtt_password"]) == "Success"
        assert broker_answer(stack, f"bad{uid}", secret) != "Success"
    finally:
        db.execute("DELETE FROM devices WHERE device_id = ANY(%s)", (bad_ids,))
        db.execute("SELECT pg_notify('tlab_broker_credentials', 'cleanup')")


# ---- item 14: provisioning returns once the broker takes the credentials ----------------------------
def test_a_device_provisioned_by_the_cli_logs_in_at_once(stack, uid) -> None:
    """The README's first example, pasted as a script: PW=$(tlab devices provision …) then mosquitto_pub."""
    answers = []
    for i in range(20):
        device = f"cli{uid}-{i}"
        done = _cli(stack, "devices", "provision", device, "--family", "ptipot", "--password-only")
        assert done.returncode == 0, done.stderr
        answers.append(broker_answer(stack, device, done.stdout.strip()))
    assert answers == ["Success"] * 20


def test_the_cli_rotation_and_revocation_hold_when_it_returns(stack, uid) -> None:
    device = f"rot{uid}"
    first = _cli(stack, "devices", "provision", device, "--family", "ptipot", "--password-only").stdout.strip()
    assert broker_answer(stack, device, first) == "Success"
    second = _cli(stack, "devices", "rotate", device, "--password-only").stdout.strip()
    assert broker_answer(stack, device, second) == "Success"
    assert broker_answer(stack, device, first) != "Success"
    assert _cli(stack, "devices", "revoke", device).returncode == 0
    assert broker_answer(stack, device, second) != "Success"


def test_a_device_provisioned_rotated_or_revoked_by_the_api_is_taken_when_it_answers(stack, api, uid) -> None:
    for i in range(20):
        device = f"api{uid}-{i}"
        made = api.post("/v1/devices", json={"device_id": device, "family": "ptipot"})
        assert made.status_code == 201 and made.json()["broker"] == "ready", made.text
        assert broker_answer(stack, device, made.json()["mqtt_password"]) == "Success", i
        rotated = api.post(f"/v1/devices/{device}/credentials")
        assert rotated.status_code == 200 and rotated.json()["broker"] == "ready", rotated.text
        assert broker_answer(stack, device, rotated.json()["mqtt_password"]) == "Success", i
        assert broker_answer(stack, device, made.json()["mqtt_password"]) != "Success", i
        revoked = api.delete(f"/v1/devices/{device}/credentials")
        assert revoked.status_code == 204 and revoked.headers["broker-credentials"] == "ready"
        assert broker_answer(stack, device, rotated.json()["mqtt_password"]) != "Success", i


@contextmanager
def _broker_paused(stack: Any, seconds: float) -> Iterator[list[float]]:
    """The broker frozen (SIGSTOP) and resumed after ``seconds``, as a loaded machine delays its reload;
    yields the list that receives the time it was resumed."""
    pid = pid_alive(stack.state_dir / "mosquitto" / "mosquitto.pid")
    assert pid
    resumed: list[float] = []

    def resume() -> None:
        resumed.append(time.monotonic())
        os.kill(pid, signal.SIGCONT)

    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(seconds, resume)
    timer.start()
    try:
        yield resumed
    finally:
        timer.cancel()
        os.kill(pid, signal.SIGCONT)


def test_the_api_answers_once_a_slow_broker_has_taken_the_credentials(stack, api, uid) -> None:
    with _broker_paused(stack, 1.5) as resumed:
        made = api.post("/v1/devices", json={"device_id": f"slow{uid}", "family": "ptipot"})
        answered = time.monotonic()
    assert resumed and answered > resumed[0], "the API answered before the broker could take the credentials"
    assert made.status_code == 201 and made.json()["broker"] == "ready", made.text
    assert broker_answer(stack, f"slow{uid}", made.json()["mqtt_password"]) == "Success"


def test_the_cli_returns_once_a_slow_broker_has_taken_the_credentials(stack, uid) -> None:
    with _broker_paused(stack, 3.0) as resumed:
        done = _cli(stack, "devices", "provision", f"slowcli{uid}", "--family", "ptipot", "--password-only")
        returned = time.monotonic()
    assert done.returncode == 0, done.stderr
    assert resumed and returned > resumed[0], "the CLI returned before the broker could take the credentials"
    assert broker_answer(stack, f"slowcli{uid}", done.stdout.strip()) == "Success"


# ---- item 15: the files' owner survives any database error ----------------------------------------
def _owner_holds_lock(stack: Any) -> bool:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
            (OWNER_LOCK >> 32, OWNER_LOCK & 0xFFFFFFFF),
        ).fetchone()
        return bool(row and row[0])


def test_the_owner_survives_losing_its_grants_and_comes_back(stack, api, uid) -> None:
    """What `tlab bench` did to it: the database recreated under it ("permission denied for table
    devices" until the grants come back). The owner logs, backs off, reconnects, re-takes its lock."""
    assert _owner_holds_lock(stack)
    runtime = sql.Identifier(stack.pg_user)
    with psycopg.connect(stack.owner_database_url, autocommit=True) as owner_conn:
        owner_conn.execute(sql.SQL("REVOKE SELECT ON devices FROM {}").format(runtime))
        try:
            owner_conn.execute("SELECT pg_notify('tlab_broker_credentials', 'revoked-grants')")
            wait_for(lambda: not _owner_holds_lock(stack), what="the owner to hit the error and let its lock go")
        finally:
            owner_conn.execute(sql.SQL("GRANT SELECT ON devices TO {}").format(runtime))
    wait_for(lambda: _owner_holds_lock(stack), timeout=40, what="the owner to take its lock again")
    made = api.post("/v1/devices", json={"device_id": f"back{uid}", "family": "ptipot"})
    assert made.status_code == 201, made.text
    wait_until_accepted(stack, f"back{uid}", made.json()["mqtt_password"], timeout=20)
