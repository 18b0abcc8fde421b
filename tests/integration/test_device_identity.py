"""Who may send what, beyond the broker's ACL: anonymous clients are refused; ingest accepts only
provisioned, unrevoked devices under their own family, and never lets a payload reach another
device's mission or event; the registry shows online/offline from the devices' status and last will."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid

import pytest

from core.settings import REPO_ROOT
from sim.publisher import CountingPublisher, OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, keyring, publish_all, worker_env

pytestmark = pytest.mark.integration


def _letter(db, device: str) -> dict | None:
    return db.execute(
        "SELECT reason_code, reason FROM dead_letters WHERE device_id = %s ORDER BY id DESC LIMIT 1", (device,)
    ).fetchone()


def test_an_anonymous_client_cannot_connect(stack) -> None:
    anonymous = CountingPublisher(stack.mqtt_host, stack.mqtt_port, f"anon-{uuid.uuid4().hex[:6]}")
    with pytest.raises(ConnectionRefusedError, match="Not authorized"):
        anonymous.connect(timeout=10)


def test_a_wrong_password_cannot_connect(stack, uid) -> None:
    publish_all(stack, [garden(f"w{uid}", "2026-11-28T10:00:00Z")])  # provisions w<uid>
    forger = CountingPublisher(
        stack.mqtt_host, stack.mqtt_port, f"forger-{uid}", credentials=(f"w{uid}", "not-the-secret")
    )
    with pytest.raises(ConnectionRefusedError):
        forger.connect(timeout=10)


def test_ingest_refuses_devices_the_registry_does_not_vouch_for(stack, ingest, api, db, uid) -> None:
    """Messages that got past the broker (here: the test stack's injector account) from an unknown device,
    a revoked one, or a device under another family's root are dead-lettered, never stored."""
    ghost, revoked, gardener = f"ghost{uid}", f"rev{uid}", f"gard{uid}"
    for device in (revoked, gardener):
        assert api.post("/v1/devices", json={"device_id": device, "family": "ptipot"}).status_code == 201
    assert api.delete(f"/v1/devices/{revoked}/credentials").status_code == 204
    telemetry = b'{"mission_id": "m-x", "ts": "2026-11-28T10:00:00Z", "chainage_m": 1.0}'
    publish_all(
        stack,
        [
            garden(ghost, "2026-11-28T10:00:00Z"),
            garden(revoked, "2026-11-28T10:00:00Z"),
            OutboundMessage(f"bathy/{gardener}/telemetry", telemetry),
        ],
        injector=True,
    )
    wait_for(lambda: all(_letter(db, d) for d in (ghost, revoked, gardener)), what="three dead letters")
    assert _letter(db, ghost)["reason_code"] == "unregistered_device"
    assert "tlab devices provision" in _letter(db, ghost)["reason"]
    assert _letter(db, revoked)["reason_code"] == "revoked_device"
    assert _letter(db, gardener)["reason_code"] == "family_mismatch"
    for device in (ghost, revoked):
        assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 0
    assert count(db, "SELECT count(*) FROM drone_telemetry WHERE device_id = %s", gardener) == 0
    assert count(db, "SELECT count(*) FROM devices WHERE device_id = %s", ghost) == 0  # not self-registered


def test_a_device_cannot_touch_another_devices_mission(stack, ingest, db, uid) -> None:
    """Mission ids travel in payloads: drone B ending or extending drone A's mission is refused."""
    a, b, mission = f"da{uid}", f"db{uid}", f"mission-{uid}"
    start = {
        "mission_id": mission,
        "ts": "2026-11-28T10:00:00Z",
        "pipe": {
            "pipe_id": "BET-1",
            "start_manhole": "R1",
            "end_manhole": "R2",
            "direction": "downstream",
            "diameter_mm": 400,
            "material": "PVC",
        },
    }
    publish_all(stack, [OutboundMessage(f"bathy/{a}/mission/start", json.dumps(start).encode())])
    wait_for(lambda: count(db, "SELECT count(*) FROM missions WHERE mission_id = %s", mission), what="A's mission")
    end = {"mission_id": mission, "ts": "2026-11-28T10:05:00Z", "status": "aborted"}
    telemetry = {"mission_id": mission, "ts": "2026-11-28T10:01:00Z", "chainage_m": 3.0}
    publish_all(
        stack,
        [
            OutboundMessage(f"bathy/{b}/mission/end", json.dumps(end).encode()),
            OutboundMessage(f"bathy/{b}/telemetry", json.dumps(telemetry).encode()),
        ],
    )
    wait_for(
        lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", b) == 2, what="B's two letters"
    )
    codes = {r["reason_code"] for r in db.execute("SELECT reason_code FROM dead_letters WHERE device_id = %s", (b,))}
    assert codes == {"foreign_object"}
    row = db.execute("SELECT device_id, status, ended_at FROM missions WHERE mission_id = %s", (mission,)).fetchone()
    assert row == {"device_id": a, "status": "running", "ended_at": None}
    assert count(db, "SELECT count(*) FROM drone_telemetry WHERE mission_id = %s", mission) == 0


def _sim(stack, prefix: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tlab.cli", "sim", "garden", "--devices", "1", "--rate", "5", "--prefix", prefix],
        env=worker_env(stack, "unused"),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_the_registry_shows_online_offline_and_last_seen(stack, ingest, api, uid) -> None:
    """A simulator (its own provisioned login, a last will) online; stopped cleanly -> offline; back,
    then killed without a DISCONNECT -> the broker publishes its will -> offline."""
    prefix = f"lw{uid}"
    device = f"{prefix}-01"

    def status() -> dict:
        response = api.get(f"/v1/devices/{device}")
        return response.json() if response.status_code == 200 else {}

    keyring(stack).ensure({device: "ptipot"})  # the device's maker provisioned it; the simulator keeps the secret
    sim = _sim(stack, prefix)
    try:
        online = wait_for(lambda: status().get("status") == "online" and status(), what="online")
        assert online["credentials"] == "active" and online["last_seen"] is not None
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(20) == 0, sim.stderr.read() if sim.stderr else ""
        offline = wait_for(lambda: status().get("status") == "offline" and status(), what="offline after a clean stop")
        assert offline["status_at"] > online["status_at"]

        sim = _sim(stack, prefix)  # its keyring still has the secret: no new provisioning
        wait_for(lambda: status().get("status") == "online", what="online again")
        sim.kill()  # SIGKILL: no "offline" from the device; the broker sees the socket close
        sim.wait(10)
        wait_for(lambda: status().get("status") == "offline", what="offline from the last will")
        listed = api.get("/v1/devices", params={"status": "offline", "family": "ptipot"}).json()["items"]
        assert device in {d["device_id"] for d in listed}
    finally:
        if sim.poll() is None:
            sim.kill()


def test_a_new_worker_is_not_sent_retained_statuses(stack, db, uid) -> None:
    """Retained statuses are state for late joiners, not events: a worker's new session gets none of them
    (Mosquitto 2.0 would send them to every new member, shared subscriptions included)."""
    from tests.conftest import RunningWorker

    device = f"ret{uid}"
    publish_all(stack, [OutboundMessage(f"ptipot/{device}/status", b"online", retain=True)])
    worker = RunningWorker(stack, ingest_client_id=f"test-retained-{uid}").start()
    try:
        publish_all(stack, [garden(device, "2026-11-28T10:00:00Z")])
        wait_for(lambda: worker.worker.stats.acked >= 1, what="the reading")
        # a retained message would have been sent at SUBSCRIBE, before the reading published after it
        # (one session, in order): once the reading is in, nothing retained can still be on its way
        assert worker.worker.stats.acked == 1, "the worker was sent more than the one new message"
    finally:
        worker.stop()
