"""A metric and a health for every worker (issue 20, item 4): each worker, run in a thread of the test
process against the real broker and database, serves /metrics and /healthz on its own port; the values
move with the work (a frame stored: one awaiting analysis; the worker runs: none; a purge: its time).
The Grafana dashboard names only metrics the code exposes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.broker_credentials import BrokerCredentialsOwner
from core.broker_credentials_metrics import broker_credentials_metrics
from core.db import connect
from core.settings import REPO_ROOT
from core.worker_metrics import WorkerMetrics, serving
from device_adapters.contract import OutboundMessage
from ingest.worker import IngestWorker
from services.alerts.deliveries import Deliveries
from services.alerts.evaluator import AlertEvaluator
from services.alerts.store import save_pack
from services.evidence.purge_runs import PURGE_LOCK
from services.evidence.worker import EvidenceWorker
from services.incidents.worker import IncidentWorker
from services.vision.worker import VisionWorker
from tests.conftest import count, wait_for
from tests.integration.helpers import keyring, publish_all, worker_env
from tests.integration.test_alerts import frost_rule, readings
from tests.integration.test_evidence import jpeg, street
from tests.integration.test_vision import LENGTH_M, STEP_M, mission_messages

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "territoire-lab.json"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextmanager
def running(run: Callable[[threading.Event], None], ready: threading.Event | None = None) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,), daemon=True)
    thread.start()
    try:
        if ready is not None:
            assert ready.wait(20), "the worker did not connect"
        yield
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the worker did not stop"


def test_vision_frames_awaiting_then_analysed(stack, ingest, db, uid) -> None:
    device, mission = f"mv{uid}", f"M-mv{uid}"
    publish_all(stack, mission_messages(device, mission))
    frames = int(LENGTH_M / STEP_M) + 1
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_frames WHERE mission_id = %s", mission) == frames)
    port = free_port()
    worker = VisionWorker(stack.model_copy(update={"vision_metrics_port": port}), batch=8)
    with serving(worker.metrics, "127.0.0.1", port):  # its endpoint before its loop runs: what waits
        before = scrape(port)
        status, body = healthz(port)
    assert value(before, "tlab_vision_frames_awaiting") >= frames
    assert value(before, "tlab_vision_oldest_awaiting_age_seconds") > 60  # the mission began 5 minutes ago
    assert (status, body["status"]) == (503, "starting")

    with running(worker.run, worker.ready):
        # counters move when the worker's pass returns, the depth when its transaction commits: wait for both
        wait_for(
            lambda: (
                (s := scrape(port))
                and value(s, "tlab_vision_frames_awaiting") == 0
                and value(s, "tlab_vision_frames_analysed_total") >= frames
            ),
            timeout=120,
            what="frames analysed",
        )
        after = scrape(port)
        assert value(after, "tlab_vision_frames_analysed_total") >= frames
        assert value(after, "tlab_vision_oldest_awaiting_age_seconds") == 0
        assert value(after, "tlab_vision_database_connected") == 1
        status, body = wait_for(lambda: (h := healthz(port))[0] == 200 and h, what="healthy")
        assert body["status"] == "ok" and body["passes"] >= 1


def test_evidence_copies_pending_then_made_and_the_purge_time(stack, ingest, db, uid) -> None:
    camera = f"me{uid}"
    keyring(stack).ensure({camera: "karroad"})
    publish_all(stack, [OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", jpeg(street(int(uid[:5], 16) * 64 + 3)))])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)
    db.execute("DELETE FROM retention_runs")  # the gauge reads the database: no purge recorded yet
    port = free_port()
    worker = EvidenceWorker(stack.model_copy(update={"evidence_metrics_port": port}), settle_s=0, batch=50)
    with serving(worker.metrics, "127.0.0.1", port):
        before = scrape(port)
    assert value(before, "tlab_evidence_copies_pending") >= 1
    assert value(before, "tlab_retention_last_success_timestamp_seconds") == 0  # no purge yet
    started = time.time()

    with running(worker.run, worker.ready):
        wait_for(
            lambda: (
                (s := scrape(port))
                and value(s, "tlab_evidence_copies_pending") == 0
                and value(s, "tlab_evidence_copies_made_total") >= 1
                and value(s, "tlab_evidence_purges_total") == 1
            ),
            timeout=60,
            what="copies made and counted, the first purge done",
        )
        after = scrape(port)
        assert value(after, "tlab_evidence_copies_made_total") >= 1
        assert value(after, "tlab_evidence_oldest_pending_age_seconds") == 0
        assert value(after, "tlab_retention_last_success_timestamp_seconds") >= started  # the first pass purges
        assert value(after, "tlab_evidence_purges_total") == 1
        assert healthz(port)[0] == 200


def test_a_failing_purge_is_an_error_of_its_kind_and_leaves_the_purge_time_unset(stack, db, monkeypatch) -> None:
    import services.evidence.purge_runs as purge_runs

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the purge")

    db.execute("DELETE FROM retention_runs")
    monkeypatch.setattr(purge_runs, "purge", broken)
    port = free_port()
    worker = EvidenceWorker(stack.model_copy(update={"evidence_metrics_port": port}), settle_s=0)
    with running(worker.run, worker.ready):
        wait_for(lambda: value(scrape(port), "tlab_evidence_errors_total", kind="purge_failed") == 1)
        samples = scrape(port)
        assert value(samples, "tlab_retention_last_success_timestamp_seconds") == 0
        status, body = healthz(port)
        assert status == 200 and "a bug in the purge" in body["last_error"]  # the copies go on: alive


def test_the_purge_gauge_counts_every_purger_and_two_never_purge_at_once(stack, db) -> None:
    """The CronJob backstop (`tlab retention purge`) skips while a worker holds the purge lock, purges once it
    is free, and its purge is the last success every evidence worker's gauge then reports."""
    db.execute("DELETE FROM retention_runs")
    env = worker_env(stack, "unused")
    command = [sys.executable, "-m", "tlab.cli", "retention", "purge", "--by", "retention CronJob"]
    with psycopg.connect(stack.database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (PURGE_LOCK,))  # a worker purging right now
        skipped = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert skipped.returncode == 0, skipped.stderr
        assert json.loads(skipped.stdout) == {"skipped": "another purge holds the lock"}
        assert count(db, "SELECT count(*) FROM retention_runs") == 0
    started = time.time()
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "cutoff" in json.loads(done.stdout)
    assert count(db, "SELECT count(*) FROM retention_runs WHERE last_by = 'retention CronJob'") == 1
    port = free_port()
    worker = EvidenceWorker(stack.model_copy(update={"evidence_metrics_port": port}), settle_s=0)
    with serving(worker.metrics, "127.0.0.1", port):
        assert value(scrape(port), "tlab_retention_last_success_timestamp_seconds") >= started - 1


def test_alerts_evaluator_counts_what_it_fires(stack, ingest, db, uid) -> None:
    device = f"ma{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    port = free_port()
    evaluator = AlertEvaluator(stack.model_copy(update={"alerts_metrics_port": port}), tick_s=3600)
    with running(evaluator.run, evaluator.ready):
        wait_for(lambda: healthz(port)[0] == 200, what="the evaluator connected")
        publish_all(stack, readings(device, (30, 0.1), (25, 0.1), (19, 0.1)))
        wait_for(lambda: value(scrape(port), "tlab_alerts_changes_total", kind="fired"), what="an alert fired")
        samples = scrape(port)
        assert value(samples, "tlab_alerts_evaluations_total") >= 1
        assert 0 < value(samples, "tlab_alerts_behind_seconds") < 3600  # a watermark, from the database's clock
        # a pass is counted when it returns: the fired alert may be scraped while its pass still runs
        wait_for(lambda: value(scrape(port), "tlab_alerts_passes_total") >= 1, what="the pass counted")


def test_deliveries_pending_per_webhook_then_given_up(stack, ingest, db, uid) -> None:
    device = f"md{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    with connect(stack.database_url) as conn:
        AlertEvaluator(stack).evaluate_changed(conn)  # the session's earlier changes, so the next is this one's
        publish_all(stack, readings(device, (30, 0.1), (25, 0.1), (19, 0.1)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3)
        AlertEvaluator(stack).evaluate_changed(conn)
    last = db.execute("SELECT max(id) AS id FROM alert_outbox WHERE service = 'green_spaces'").fetchone()["id"]
    closed = free_port()  # nobody listens there: every attempt fails
    webhook = db.execute(
        "INSERT INTO alert_webhooks (service, url, secret, delivered_through) VALUES ('green_spaces', %s, "
        "'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA==', %s) RETURNING id",
        (f"http://127.0.0.1:{closed}/hook", last - 1),
    ).fetchone()["id"]
    port = free_port()
    settings = stack.model_copy(
        update={"deliveries_metrics_port": port, "webhook_allow": [f"127.0.0.1:{closed}"], "alert_notify_wait_s": 0}
    )
    deliveries = Deliveries(settings, refresh_s=0.2, max_attempts=1, timeout_s=1, total_s=2)
    try:
        with serving(deliveries.metrics, "127.0.0.1", port):
            before = scrape(port)
        assert value(before, "tlab_deliveries_pending", target="webhook", id=str(webhook)) == 1
        with running(deliveries.run, deliveries.webhooks.ready):  # served before its loops connect
            given_up = {"webhook": str(webhook), "outcome": "gave_up"}
            wait_for(lambda: value(scrape(port), "tlab_deliveries_webhook_attempts_total", **given_up) == 1)
            wait_for(lambda: value(scrape(port), "tlab_deliveries_pending", target="webhook", id=str(webhook)) == 0)
            samples = scrape(port)
            assert value(samples, "tlab_deliveries_pending", target="channel", id="mqtt") is not None
            status, body = wait_for(lambda: (h := healthz(port))[0] == 200 and h, what="both loops healthy")
            assert body["webhooks"]["status"] == body["mqtt"]["status"] == "ok"
    finally:
        db.execute("UPDATE alert_webhooks SET enabled = false WHERE id = %s", (webhook,))


def test_incidents_worker_passes_and_health(stack) -> None:
    port = free_port()
    worker = IncidentWorker(stack.model_copy(update={"incidents_metrics_port": port}))
    with serving(worker.metrics, "127.0.0.1", port):
        assert healthz(port)[0] == 503  # not connected yet
    with running(worker.run, worker.ready):
        wait_for(lambda: value(scrape(port), "tlab_incidents_passes_total") >= 1, what="a first pass")
        assert healthz(port)[0] == 200
        samples = scrape(port)
        assert value(samples, "tlab_incidents_changes_total", kind="new") is not None


def test_broker_credentials_standby_is_healthy_and_not_the_owner(stack) -> None:
    """The session's owner holds the lock: a second one stands by, healthy (asked of pg_locks)."""
    port = free_port()
    standby = BrokerCredentialsOwner(stack, poll_s=0.1)
    metrics = broker_credentials_metrics(standby)
    with serving(metrics, "127.0.0.1", port), running(standby.run):
        status, body = healthz(port)
        assert (status, body["status"]) == (200, "standby")
        assert value(scrape(port), "tlab_broker_credentials_owner") == 0


def test_broker_credentials_with_no_owner_is_unhealthy(stack) -> None:
    idle = BrokerCredentialsOwner(stack.model_copy(update={"pg_port": free_port()}))  # a database nobody serves
    port = free_port()
    with serving(broker_credentials_metrics(idle), "127.0.0.1", port):
        status, body = healthz(port)
    assert (status, body["status"]) == (503, "database_unavailable")


def test_api_metrics_by_route_template_without_ids_or_token(stack, api, uid) -> None:
    api.get("/v1/devices")
    api.get(f"/v1/devices/nope{uid}")
    api.get(f"/no-such-path-{uid}")
    response = api.get("/metrics", headers={"Authorization": ""})  # a scraper has no token
    assert response.status_code == 200
    text = response.text
    assert uid not in text  # neither an id nor a path a caller chose
    samples = {
        (s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }
    ok = {"method": "GET", "route": "/v1/devices", "status": "200"}
    assert value(samples, "tlab_api_requests_total", **ok) >= 1
    assert value(samples, "tlab_api_requests_total", method="GET", route="/v1/devices/{device_id}", status="404") >= 1
    assert value(samples, "tlab_api_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert value(samples, "tlab_api_pool_requests_waiting") == 0
    assert value(samples, "tlab_api_pool_connections_in_use") is not None


def exposed_names(metrics: list[Any]) -> set[str]:
    """Every series name a registry can expose, samples or not yet (a counter without labels seen yet)."""
    names: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for registry in metrics:
        for family in registry.collect():
            names.update(family.name + s for s in suffixes.get(family.type, ("",)))
            names.update(s.name for s in family.samples)
    return names


def test_the_dashboard_names_only_metrics_the_code_exposes(stack, api) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    named = {m for e in exprs for m in re.findall(r"\btlab_[a-z0-9_]+", e)}
    workers: list[WorkerMetrics] = [
        VisionWorker(stack).metrics,
        EvidenceWorker(stack).metrics,
        IncidentWorker(stack).metrics,
        AlertEvaluator(stack).metrics,
        Deliveries(stack).metrics,
        broker_credentials_metrics(BrokerCredentialsOwner(stack)),
    ]
    registries = [w.registry for w in workers]
    registries.append(IngestWorker(stack).metrics.registry)
    registries.append(api.app.state.metrics.registry)
    exposed = exposed_names(registries)
    assert named - exposed == set()
    for prefix in ("ingest", "vision", "evidence", "deliveries", "alerts", "api", "retention"):
        assert any(n.startswith(f"tlab_{prefix}_") for n in named), f"no panel for {prefix}"
    assert {p["title"] for p in dashboard["panels"]} >= {"Ingest rate (messages/s)", "Ingest lag", "Queues"}


def test_lookback_is_bounded(stack) -> None:
    """The frames-awaiting gauge reads the claim's window only (a frame older than the look-back is not
    counted, as the worker would not claim it)."""
    worker = VisionWorker(stack, lookback=timedelta(seconds=1))
    with serving(worker.metrics, "127.0.0.1", port := free_port()):
        assert value(scrape(port), "tlab_vision_frames_awaiting") == 0
