"""Experiments' KPIs on a year of data (issue 22, item 1): how long each pilot's KPIs take to compute, over a
month and over the whole year.

Data (generated in the database, loaded once into its own database ``tlab_bench_kpis``; ``--reload`` starts
over), a year from 2025-01-01: 50 cameras with 10 incidents a day each (182,500 incidents, 60 % of them
decided by an agent in the timeline), 2 drones with 4 missions a day (2,920 missions, 20 observations each,
half reviewed), 100 garden sensors with 2 alerts a day each (73,000 alerts), a reading every 15 minutes
(3,467,874 readings: about one slot in 97 missing) and a status change every 12 hours (73,000), 100,000 dead letters.
Each figure is the median of ``--repeat`` computations (``services.experiments.kpis.compute``, the function
the API calls), after one warm-up.

Run: ``tlab bench kpis [--repeat 5] [--reload]``; prints a table, writes benchmarks/results/kpis.json.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from benchmarks.bench_database import needs_load
from benchmarks.results import write_results
from core.db import API_SESSION_OPTIONS, connect
from core.settings import Settings
from device_adapters.capabilities import Capability
from device_adapters.registry import family_names
from services.experiments.kpis import Period, compute

DATABASE = "tlab_bench_kpis"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
LOAD = (
    ("devices", "INSERT INTO devices (device_id, family) SELECT 'cam-' || i, %(camera)s FROM generate_series(1, 50) i "
     "UNION ALL SELECT 'drone-' || i, %(drone)s FROM generate_series(1, 2) i "
     "UNION ALL SELECT 'garden-' || i, %(garden)s FROM generate_series(1, 100) i; "
     "UPDATE devices SET first_seen = %(t0)s"),
    ("incidents", "INSERT INTO incidents (key, device_id, label, tracks, began_at, suspected_at, cleared_at, state) "
     "SELECT 'k' || c || '-' || n, 'cam-' || c, 'bag', '{t}', %(t0)s + n * interval '144 minutes', "
     "%(t0)s + n * interval '144 minutes' + interval '5 minutes', "
     "CASE WHEN n % 4 <> 0 THEN %(t0)s + n * interval '144 minutes' + (n % 180) * interval '1 minute' END, "
     "CASE WHEN n % 5 < 2 THEN 'confirmed' WHEN n % 5 = 2 THEN 'dismissed' ELSE 'suspected' END "
     "FROM generate_series(1, 50) c, generate_series(0, 3649) n"),
    ("incident_timeline", "INSERT INTO incident_timeline (incident_id, at, kind, actor) SELECT id, suspected_at, "
     "state, 'agent' FROM incidents WHERE state IN ('confirmed', 'dismissed')"),
    ("missions", "INSERT INTO missions (mission_id, device_id, started_at, ended_at, status, distance_m) "
     "SELECT 'm' || d || '-' || n, 'drone-' || d, %(t0)s + n * interval '6 hours', "
     "%(t0)s + n * interval '6 hours' + interval '1 hour', CASE WHEN n % 10 = 0 THEN 'aborted' ELSE 'completed' END, "
     "100 + n % 150 FROM generate_series(1, 2) d, generate_series(0, 1459) n"),
    ("observations", "INSERT INTO observations (mission_id, code, chainage_start_m, clock_from, clock_to, grade, "
     "confidence, frames, model, state, reviewed_at) SELECT m.mission_id, 'BAB', o, 1, 2, 1 + o % 5, 0.8, 2, 'm', "
     "CASE WHEN o % 2 = 0 THEN 'automatic' WHEN o % 3 = 0 THEN 'rejected' ELSE 'confirmed' END, "
     "CASE WHEN o % 2 = 1 THEN m.ended_at + interval '3 hours' END "
     "FROM missions m, generate_series(1, 20) o"),
    ("alerts", "INSERT INTO alert_rules (name, kind, definition, source) VALUES ('bench-frost', 'threshold', "
     "'{\"metric\": \"air_temp_c\"}', 'test'); INSERT INTO alerts (rule_id, rule_name, subject, device_id, family, "
     "service, severity, state, resolution, began_at, fired_at, cleared_at, summary, acknowledged_at) SELECT r.id, "
     "r.name, 'garden-' || g, 'garden-' || g, %(garden)s, 'green_spaces', 'warning', 'resolved', 'cleared', "
     "%(t0)s + n * interval '12 hours', %(t0)s + n * interval '12 hours' + interval '10 minutes', "
     "%(t0)s + n * interval '12 hours' + interval '2 hours', 'bench', "
     "CASE WHEN n % 3 = 0 THEN %(t0)s + n * interval '12 hours' + interval '1 hour' END "
     "FROM alert_rules r, generate_series(1, 100) g, generate_series(0, 729) n WHERE r.name = 'bench-frost'"),
    # every 15 minutes (the gardens' cadence), one slot in 97 missing; soil below 15 % a third of the time
    ("garden_readings", "INSERT INTO garden_readings (time, device_id, soil_vwc_pct, air_temp_c) SELECT "
     "%(t0)s + n * interval '15 minutes' + g * interval '1 second', 'garden-' || g, 12 + (n % 96) * 0.1, 5.0 "
     "FROM generate_series(1, 100) g, generate_series(0, 35039) n WHERE n % 97 <> g % 97"),
    ("device_status_changes", "INSERT INTO device_status_changes (device_id, at, online) SELECT 'garden-' || g, "
     "%(t0)s + n * interval '12 hours' + g * interval '1 minute', n % 2 = 0 "
     "FROM generate_series(1, 100) g, generate_series(0, 729) n"),
    ("dead_letters", "INSERT INTO dead_letters (first_received_at, last_received_at, topic, family, device_id, "
     "reason_code, reason, payload, payload_sha256, topic_sha256, payload_size) SELECT "
     "%(t0)s + n * interval '5 minutes', "
     "%(t0)s + n * interval '5 minutes', %(camera)s || '/cam-' || (1 + n % 50) || '/events', %(camera)s, "
     "'cam-' || (1 + n % 50), 'invalid', 'bench', '\\x00', md5(n::text), md5(n::text), 1 "
     "FROM generate_series(1, 100000) n"),
)  # fmt: skip
DEVICES = {
    Capability.CAMERA_DETECTIONS: [f"cam-{i}" for i in range(1, 51)],
    Capability.PIPE_INSPECTION: ["drone-1", "drone-2"],
    Capability.READINGS: [f"garden-{i}" for i in range(1, 101)],
}


def load(settings: Settings, reload: bool) -> None:
    if not needs_load(settings, "device_status_changes", 73_000, reload):
        return
    # a family of each kind, as the registry has them (a benchmark names no family either)
    params = {"t0": T0, **{k: family_names(c)[0] for k, c in (("camera", Capability.CAMERA_DETECTIONS),
                                                            ("drone", Capability.PIPE_INSPECTION),
                                                            ("garden", Capability.READINGS))}}  # fmt: skip
    with psycopg.connect(settings.owner_database_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        for step, statement in LOAD:
            started = time.perf_counter()
            for part in statement.split("; "):
                conn.execute(part.replace(" % ", " %% "), params)  # modulo, not a placeholder
            print(f"  loaded {step:<18} {time.perf_counter() - started:>6.1f} s", flush=True)
        conn.execute("VACUUM ANALYZE")


def main(settings: Settings, repeat: int, reload: bool) -> dict[str, Any]:
    settings = settings.model_copy(update={"pg_database": DATABASE})
    load(settings, reload)
    periods = {"month": Period(T0 + timedelta(days=150), T0 + timedelta(days=180)),
               "year": Period(T0, T0 + timedelta(days=365))}  # fmt: skip
    figures: dict[str, dict[str, float]] = {}
    with connect(settings.owner_database_url, options=API_SESSION_OPTIONS) as conn:  # as the API's pool
        for capability, devices in DEVICES.items():
            for name, period in periods.items():
                compute(conn, capability, devices, period)  # warm-up
                took = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    compute(conn, capability, devices, period)
                    took.append((time.perf_counter() - started) * 1000)
                figures.setdefault(capability.value, {})[name] = round(statistics.median(took), 1)
                print(f"{capability.value:<18} {name:<6} {figures[capability.value][name]:>8.1f} ms "
                      f"(median of {repeat})", flush=True)  # fmt: skip
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "data": "a year: 182,500 incidents, 2,920 missions with 58,400 observations, 73,000 alerts, 3,467,874 "
        "garden readings, 73,000 status changes, 100,000 dead letters",
        "repeat": repeat,
        "median_ms": figures,
    }
    write_results("kpis", result)
    return result
