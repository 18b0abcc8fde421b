"""Alerts benchmark (issue 10): does evaluating rules slow ingest down, and how soon is an alert seen?

Run: ``tlab bench alerts [--devices 1000] [--messages 150000] [--repeat 3] [--latency-seconds 60]``. It
uses the ingest benchmark's own stack (ports 18870/15470, ``track_commit_timestamp`` on).

The fleet: N garden devices (default 1,000), each under the five default rules that apply to a garden
(garden pack: dry soil for 6 h, frost, silent for 2 h; platform pack: offline 15 min, dead-letter surge).

1. throughput, alternately without and with ``tlab alerts`` running (``repeat`` times each): M messages,
   spread evenly over the fleet and stamped in the last minutes (inside the evaluator's look-back), are
   published by ``mosquitto_pub -l`` (C), one process per device logged in as that device, 24 at a time;
   one ingest worker; rate = M / (last commit - first publish), every row checked. The figure is the
   ratio of the medians (goal: >= 0.95).
2. latency at half the measured rate: the same fleet load, paced (benchmarks/fleet_load.py), with the
   evaluator and the API running, plus one trigger device whose readings alternate frost and thaw every
   half second under a rule with no ``for`` (one new alert per cold reading): time from the triggering
   reading's commit (its row's commit timestamp) to the alert listed by ``GET /v1/alerts`` (polled every
   20 ms) and received on ``GET /v1/alerts/stream`` (goal: p99 <= 1 s for both).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.ingest import Bench, _cpu_seconds, _free_port, _percentiles, _require_http, _wait_stored
from benchmarks.paced_publisher import line_publisher
from benchmarks.results import write_results
from core.broker_credentials import BrokerCredentials
from core.db import one_row
from core.device_registry import CREDENTIALS_CHANNEL
from sim.publisher import CountingPublisher, OutboundMessage

CONCURRENT_PUBLISHERS = 24
PREFIX = "fleet-"
TRIGGER = "trigger-01"
LOAD_ACCOUNT = "tlab-bench-load"


class AlertsBench(Bench):
    def __init__(self, devices: int, messages: int, latency_seconds: float) -> None:
        self.devices = devices
        self.per_device = max(1, messages // devices)
        super().__init__(messages=0, workers=[1], latency_seconds=latency_seconds)
        self.fleet = [f"{PREFIX}{d:04d}" for d in range(devices)]
        self.files = [(f"ptipot/{d}/readings", self.workdir / f"{d}.jsonl", self.per_device) for d in self.fleet]
        self.files.append((f"ptipot/{TRIGGER}/readings", self.workdir / f"{TRIGGER}.jsonl", 0))
        self.total = self.per_device * devices
        self.counts = {"ptipot": self.total, "bathy": 0, "karroad": 0}

    def write_fleet_files(self) -> None:
        """Every device's readings, one a second ending now (inside the rules' look-back)."""
        end = datetime.now(UTC)
        for _topic, path, n in self.files:
            with path.open("w") as out:
                for i in range(n):
                    ts = (end - timedelta(seconds=n - i)).isoformat(timespec="milliseconds")
                    out.write(json.dumps({"ts": ts, "soil_vwc_pct": 25.0 + i % 7, "air_temp_c": 11.0 + i % 5}) + "\n")

    def publish_fleet(self) -> float:
        """One ``mosquitto_pub -l`` per device, ``CONCURRENT_PUBLISHERS`` at a time; returns the wall time."""

        def publish(entry: tuple[str, Path, int]) -> None:
            topic, path, n = entry
            if n == 0:
                return
            device = path.stem
            with path.open("rb") as stdin:
                cmd = line_publisher(
                    self.settings.mqtt_host, self.settings.mqtt_port, topic, device, self.secrets[device]
                )
                done = subprocess.run(cmd, stdin=stdin, capture_output=True, timeout=300, check=False)
            if done.returncode != 0 or done.stderr:
                raise RuntimeError(f"mosquitto_pub {device}: {done.stderr.decode()[:300]}")

        started = time.time()
        with ThreadPoolExecutor(CONCURRENT_PUBLISHERS) as pool:
            list(pool.map(publish, self.files))
        return time.time() - started

    def start(self, command: str, env: dict[str, str], **extra: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "tlab.cli", command], env={**env, **extra}, stdout=subprocess.DEVNULL
        )

    def throughput(self, with_alerts: bool) -> dict[str, Any]:
        self.fresh()
        self.write_fleet_files()
        env = self.process_env()
        port = _free_port()
        ingest = self.start("ingest", env, TLAB_INGEST_METRICS_PORT=str(port))
        evaluator = self.start("alerts", env) if with_alerts else None
        procs = [p for p in (ingest, evaluator) if p is not None]
        try:
            _require_http(f"http://127.0.0.1:{port}/healthz", 30)
            if evaluator is not None:
                _wait_rules(self.settings.database_url)
            time.sleep(1.0)
            t0 = time.time()
            before = {p.pid: _cpu_seconds(p.pid) for p in procs}
            publish_seconds = self.publish_fleet()
            _wait_stored([port], self.total, 600)
            cpu = {name: round(_cpu_seconds(p.pid) - before[p.pid], 2) for name, p in (("ingest", ingest),
                   ("evaluator", evaluator)) if p is not None}  # fmt: skip
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
        last_commit, _ = self.check_rows()
        elapsed = last_commit - t0
        evaluated = _evaluations(self.settings.database_url) if with_alerts else {}
        return {
            "with_alerts": with_alerts,
            "seconds": round(elapsed, 3),
            "rate": round(self.total / elapsed),
            "publisher_rate": round(self.total / publish_seconds),
            "cpu_seconds": cpu,
            **evaluated,
        }

    def latency(self, k: int, rate: float) -> dict[str, Any]:  # type: ignore[override]
        self.fresh()
        env = self.process_env()
        acl = [f"topic write {self.settings.mqtt_device_mount}#"]
        secret = BrokerCredentials(self.settings).add_service_account(LOAD_ACCOUNT, acl)
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:  # the files' owner rewrites them
            conn.execute("SELECT pg_notify(%s, %s)", (CREDENTIALS_CHANNEL, LOAD_ACCOUNT))
        port = _free_port()
        procs = [
            self.start("ingest", env, TLAB_INGEST_METRICS_PORT=str(port)),
            self.start("alerts", env),
            subprocess.Popen([sys.executable, "-m", "tlab.cli", "api"], env=env, stderr=subprocess.DEVNULL),
        ]
        try:
            _require_http(f"http://127.0.0.1:{port}/healthz", 30)
            _require_http(f"http://127.0.0.1:{self.settings.api_port}/health", 30)
            _wait_rules(self.settings.database_url)
            _add_trigger_rule(self.settings.database_url)
            token = self.api_token()
            load = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.fleet_load", self.settings.mqtt_host,
                 str(self.settings.mqtt_service_port), self.settings.mqtt_device_mount, PREFIX, str(self.devices),
                 str(rate), str(self.latency_seconds + 4)],
                stdout=subprocess.PIPE, text=True,
                env={**os.environ, "BENCH_MQTT_USER": LOAD_ACCOUNT, "BENCH_MQTT_PASSWORD": secret},
            )  # fmt: skip
            time.sleep(2.0)  # the load running before the first trigger
            seen = _watch_alerts(self.settings, token, self.secrets[TRIGGER], self.latency_seconds)
            report = json.loads(load.communicate(timeout=300)[0].strip().splitlines()[-1])
            if "error" in report or report["failed"] or report["acked"] != report["sent"]:
                raise RuntimeError(f"the fleet load did not publish everything: {report}")
            time.sleep(2.0)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
        committed = _trigger_commits(self.settings.database_url)
        api_ms = sorted((t - committed[a]) * 1000 for a, t in seen["api"].items() if a in committed)
        stream_ms = sorted((t - committed[a]) * 1000 for a, t in seen["stream"].items() if a in committed)
        return {
            "target_rate": round(rate),
            "achieved_publish_rate": round(report["achieved_rate"]),
            "load": report,
            "alerts_fired": len(committed),
            "commit_to_api_ms": _percentiles(api_ms),
            "commit_to_stream_ms": _percentiles(stream_ms),
            "missed_api": len(committed) - len(api_ms),
            "missed_stream": len(committed) - len(stream_ms),
        }


def _wait_rules(database_url: str, timeout: float = 30) -> None:
    """Until ``tlab alerts`` has written the default packs."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if one_row(conn.execute("SELECT count(*) FROM alert_rules"))[0] > 0:
                return
            time.sleep(0.1)
    raise RuntimeError("the evaluator wrote no rules")


def _add_trigger_rule(database_url: str) -> None:
    from services.alerts.rules import Threshold
    from services.alerts.store import save_pack

    rule = Threshold.model_validate(
        {"name": "bench-frost-now", "scope": {"family": "ptipot", "devices": [TRIGGER]}, "severity": "warning",
         "service": "green_spaces", "metric": "air_temp_c", "direction": "below", "fire": 1.0, "clear": 3.0}
    )  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        save_pack(conn, [rule], source="bench")


def _evaluations(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        alerts = one_row(conn.execute("SELECT count(*) FROM alerts"))[0]
        rules = one_row(conn.execute("SELECT count(*) FROM alert_rules WHERE enabled"))[0]
    return {"alerts": alerts, "rules": rules}


def _trigger_commits(database_url: str) -> dict[int, float]:
    """alert id -> commit time (epoch s) of the reading that fired it."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT a.id, extract(epoch FROM pg_xact_commit_timestamp(r.xmin))::float8 FROM alerts a "
            "JOIN garden_readings r ON r.device_id = a.subject AND r.time = a.trigger_time "
            "WHERE a.subject = %s",
            (TRIGGER,),
        ).fetchall()
    return {int(r[0]): float(r[1]) for r in rows}


def _watch_alerts(settings: Any, token: str, secret: str, seconds: float) -> dict[str, dict[int, float]]:
    """Publish frost / thaw on the trigger device every half second while a poller lists the alerts and a
    stream client reads them; returns alert id -> first wall time seen, by channel."""
    seen: dict[str, dict[int, float]] = {"api": {}, "stream": {}}
    stop = threading.Event()
    base = f"http://{settings.api_host}:{settings.api_port}/v1/alerts"
    auth = {"Authorization": f"Bearer {token}"}

    def poll() -> None:
        query = f"{base}?device_id={TRIGGER}&limit=20"
        while not stop.is_set():
            with urllib.request.urlopen(urllib.request.Request(query, headers=auth), timeout=5) as r:
                now = time.time()
                for item in json.loads(r.read())["items"]:
                    seen["api"].setdefault(item["id"], now)
            time.sleep(0.02)

    def stream() -> None:
        url = f"{base}/stream?max_seconds={int(seconds) + 10}"
        with urllib.request.urlopen(urllib.request.Request(url, headers=auth), timeout=seconds + 20) as r:
            for raw in r:
                line = raw.decode().strip()
                if line.startswith("data:") and not stop.is_set():
                    body = json.loads(line[5:])
                    if body.get("event") == "fired" and body["alert"]["subject"] == TRIGGER:
                        seen["stream"].setdefault(body["alert"]["id"], time.time())
                if stop.is_set():
                    return

    threads = [threading.Thread(target=poll, daemon=True), threading.Thread(target=stream, daemon=True)]
    for t in threads:
        t.start()
    publisher = CountingPublisher(settings.mqtt_host, settings.mqtt_port, TRIGGER, credentials=(TRIGGER, secret))
    publisher.connect()
    deadline = time.monotonic() + seconds
    cold = True
    while time.monotonic() < deadline:
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        body = json.dumps({"ts": ts, "air_temp_c": 0.0 if cold else 5.0, "soil_vwc_pct": 25.0}).encode()
        publisher.publish(OutboundMessage(f"ptipot/{TRIGGER}/readings", body))
        cold = not cold
        time.sleep(0.5)
    publisher.close()
    time.sleep(3.0)  # the last alerts reach both channels
    stop.set()
    return seen


def run(devices: int, messages: int, repeat: int, latency_seconds: float, phases: tuple[str, ...]) -> dict[str, Any]:
    with AlertsBench(devices, messages, latency_seconds).running() as bench:
        print(f"{bench.total} messages over {devices} devices ({bench.per_device} each)", flush=True)
        result: dict[str, Any] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "devices": devices,
            "messages": bench.total,
            "repeat": repeat,
        }
        if "throughput" in phases:
            runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
            for _ in range(repeat):
                for with_alerts in (False, True):  # alternated: a drift of the machine hits both alike
                    runs[with_alerts].append(bench.throughput(with_alerts))
                    print(f"throughput: {runs[with_alerts][-1]}", flush=True)
            without = statistics.median(r["rate"] for r in runs[False])
            with_ = statistics.median(r["rate"] for r in runs[True])
            result["throughput"] = {"without_alerts": runs[False], "with_alerts": runs[True],
                                    "median_without": without, "median_with": with_,
                                    "ratio": round(with_ / without, 3)}  # fmt: skip
        if "latency" in phases:
            half = result["throughput"]["median_with"] / 2 if "throughput" in result else 3000.0
            result["latency"] = bench.latency(1, half)
            print(f"latency: {result['latency']}", flush=True)
    return result


def print_table(r: dict[str, Any]) -> None:
    print(f"\n{r['messages']} messages over {r['devices']} devices x 5 rules, {r['machine']['cpus']} CPUs")
    if "throughput" in r:
        t = r["throughput"]
        print(f"ingest committed rate without the evaluator: {t['median_without']} msg/s "
              f"(runs {[x['rate'] for x in t['without_alerts']]})")  # fmt: skip
        print(f"ingest committed rate with the evaluator:    {t['median_with']} msg/s "
              f"(runs {[x['rate'] for x in t['with_alerts']]})")  # fmt: skip
        print(f"ratio with / without: {t['ratio']} (goal >= 0.95)")
    if "latency" in r:
        lat = r["latency"]
        print(f"at {lat['target_rate']} msg/s (achieved {lat['achieved_publish_rate']}), {lat['alerts_fired']} alerts:")
        for label, key, missed in (("in GET /v1/alerts", "commit_to_api_ms", "missed_api"),
                                   ("on the stream", "commit_to_stream_ms", "missed_stream")):  # fmt: skip
            print(f"  reading committed -> alert {label:<18} {lat[key]} (missed {lat[missed]})")


def main(devices: int, messages: int, repeat: int, latency_seconds: float, phases: tuple[str, ...]) -> dict[str, Any]:
    result = run(devices, messages, repeat, latency_seconds, phases)
    print_table(result)
    write_results("alerts", result)
    return result
