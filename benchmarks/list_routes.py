"""Every list route of the API on a grown database: page 1 and a deep page, before and after issue 9.

Data (generated in the database, loaded once into its own database ``tlab_bench_lists``; ``--reload``
starts over): 10,000,000 garden readings (100 devices, one a minute for 69 days), 1,000,000 dead letters,
1,000,000 audit entries, 500,000 camera events, 100 missions with 1,000,000 telemetry points and 100,000
frames.

- **before**: the list indexes of issue 9 rolled back (the migrations' own rollback files) and pages
  reached by ``offset``, as every list was paged until then;
- **after**: the indexes applied and pages reached by ``cursor`` (the key of the row at the same depth).

Each phase runs ``--repeat`` times, alternating; the figures are the medians over runs. Each figure is the
latency of a request through the whole app (FastAPI's in-process client: auth,
audit, SQL, serialisation), p50 and p99 of ``--samples`` requests after two warm-up ones.

Run: ``tlab bench lists [--samples N] [--reload]``; prints a table, writes benchmarks/results/list_routes.json.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from yoyo import get_backend, read_migrations

from benchmarks.bench_database import needs_load
from benchmarks.results import write_results
from core.migrate import migration_sources
from core.settings import Settings
from services.api.limits import MAX_OFFSET
from services.api.main import create_app
from services.api.pagination import encode_cursor, list_name
from services.auth.roles import Role
from services.auth.tokens import create_token

DATABASE = "tlab_bench_lists"
T0 = datetime(2026, 6, 1, tzinfo=UTC)
LIST_INDEX_MIGRATIONS = ("0009_list_indexes", "bathy_0002_mission_list_index", "karroad_0002_event_list_index")

LOAD = [
    (
        "devices",
        "INSERT INTO devices (device_id, family, first_seen, last_seen) "
        "SELECT 'bench-g-' || lpad(d::text, 3, '0'), 'ptipot', %(t0)s, %(t0)s FROM generate_series(0, 99) d "
        "UNION ALL SELECT 'bench-d-' || lpad(d::text, 2, '0'), 'bathy', %(t0)s, %(t0)s FROM generate_series(0, 9) d "
        "UNION ALL SELECT 'bench-c-' || lpad(d::text, 2, '0'), 'karroad', %(t0)s, %(t0)s FROM generate_series(0, 19) d",
    ),
    *[
        (
            f"garden_readings {k + 1}/10",
            "INSERT INTO garden_readings (time, device_id, soil_vwc_pct, air_temp_c) "
            "SELECT %(t0)s + i * interval '1 minute', 'bench-g-' || lpad(d::text, 3, '0'), 20 + (i %% 200) / 10.0, "
            f"10 + d %% 7 FROM generate_series({k * 10}, {k * 10 + 9}) d, generate_series(0, 99999) i",
        )
        for k in range(10)
    ],
    (
        "dead_letters",
        "INSERT INTO dead_letters (first_received_at, last_received_at, topic, topic_sha256, family, device_id, "
        "reason_code, reason, payload, payload_size, payload_sha256) "
        "SELECT %(t0)s + i * interval '6 seconds', %(t0)s + i * interval '6 seconds', "
        "'ptipot/bench-g-' || lpad((i %% 100)::text, 3, '0') || '/readings', md5('topic' || (i %% 100)), 'ptipot', "
        "'bench-g-' || lpad((i %% 100)::text, 3, '0'), 'invalid_field', 'soil_vwc_pct: Input should be >= 0', "
        "convert_to('{\"soil_vwc_pct\": -' || i || '}', 'UTF8'), 24, encode(sha256(int8send(i)), 'hex') "
        "FROM generate_series(0, 999999) i",
    ),
    (
        "audit_log",
        "INSERT INTO audit_log (at, principal, roles, method, path, status) "
        "SELECT %(t0)s + i * interval '6 seconds', 'bench-' || (i %% 7), '{operator}', 'GET', "
        "(ARRAY['/v1/dead-letters', '/v1/missions', '/v1/camera-events', '/v1/media/x'])[1 + i %% 4], 200 "
        "FROM generate_series(0, 999999) i",
    ),
    (
        "camera_events",
        "INSERT INTO camera_events (event_id, device_id, source, event_type, updated_at, label, score, box, zone, "
        "start_time, end_time, stationary, has_snapshot) "
        "SELECT 'bench-e-' || i, 'bench-c-' || lpad((i %% 20)::text, 2, '0'), 'karroad', 'end', "
        "%(t0)s + i * interval '12 seconds', 'mattress', 0.8, '{10,20,110,220}', 'kerb', "
        "%(t0)s + i * interval '12 seconds', %(t0)s + i * interval '12 seconds' + interval '5 minutes', true, false "
        "FROM generate_series(0, 499999) i",
    ),
    (
        "missions",
        "INSERT INTO missions (mission_id, device_id, started_at, ended_at, status, pipe_id, start_manhole, "
        "end_manhole, direction, diameter_mm, material) "
        "SELECT 'bench-m-' || lpad(m::text, 3, '0'), 'bench-d-' || lpad((m %% 10)::text, 2, '0'), "
        "%(t0)s + m * interval '16 hours', %(t0)s + m * interval '16 hours' + interval '2000 seconds', 'completed', "
        "'BET-' || m, 'R1', 'R2', 'downstream', 600, 'concrete' FROM generate_series(0, 99) m",
    ),
    (
        "drone_telemetry",
        "INSERT INTO drone_telemetry (time, device_id, mission_id, chainage_m, h2s_ppm, water_level_pct) "
        "SELECT %(t0)s + m * interval '16 hours' + i * interval '200 milliseconds', "
        "'bench-d-' || lpad((m %% 10)::text, 2, '0'), 'bench-m-' || lpad(m::text, 3, '0'), i * 0.01, 1.5, 20 "
        "FROM generate_series(0, 99) m, generate_series(0, 9999) i",
    ),
    (
        "media",
        "INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id) "
        "SELECT encode(sha256(convert_to('frame' || m || '-' || i, 'UTF8')), 'hex'), 'image/jpeg', 30000, 640, 480, "
        "'bathy', 'bench-d-' || lpad((m %% 10)::text, 2, '0') FROM generate_series(0, 99) m, generate_series(0, 999) i",
    ),
    (
        "drone_frames",
        "INSERT INTO drone_frames (time, device_id, mission_id, chainage_m, seq, media_sha256) "
        "SELECT %(t0)s + m * interval '16 hours' + i * interval '2 seconds', "
        "'bench-d-' || lpad((m %% 10)::text, 2, '0'), "
        "'bench-m-' || lpad(m::text, 3, '0'), i * 0.1, i, "
        "encode(sha256(convert_to('frame' || m || '-' || i, 'UTF8')), 'hex') "
        "FROM generate_series(0, 99) m, generate_series(0, 999) i",
    ),
]


@dataclass(frozen=True)
class Case:
    """One list as a client asks for it; ``depth``: the position of the deep page; ``key``: SQL giving the
    list's sort key at a position (``%(n)s``), from which the deep page's cursor is made."""

    name: str
    path: str
    params: dict[str, Any]
    limit: int
    depth: int
    key: str | None  # None: the route has no cursor (small lists)
    kinds: tuple[type, ...] = ()


WINDOW = {"start": T0.isoformat(), "end": (T0 + timedelta(days=70)).isoformat()}
# raw readings are served over at most 31 days since issue 19 (services/api/limits.py)
RAW_WINDOW = {"start": T0.isoformat(), "end": (T0 + timedelta(days=30)).isoformat()}
CASES = [
    Case("devices", "/v1/devices", {}, 100, 100, None),
    Case("missions", "/v1/missions", {}, 10, 90, None),
    Case(
        "readings (1 device, raw)",
        "/v1/devices/bench-g-042/readings",
        {"metric": "soil_vwc_pct", **RAW_WINDOW},
        1000,
        40_000,
        "SELECT time FROM garden_readings WHERE device_id = 'bench-g-042' ORDER BY time OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "readings (1 device, 1h buckets)",
        "/v1/devices/bench-g-042/readings",
        {"metric": "soil_vwc_pct", "bucket": "1h", **WINDOW},
        100,
        1_500,
        "SELECT time_bucket('1 hour', time) FROM garden_readings WHERE device_id = 'bench-g-042' "
        "GROUP BY 1 ORDER BY 1 OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "mission telemetry",
        "/v1/missions/bench-m-050/telemetry",
        {},
        1000,
        9_000,
        "SELECT time FROM drone_telemetry WHERE mission_id = 'bench-m-050' ORDER BY time OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "mission frames",
        "/v1/missions/bench-m-050/frames",
        {},
        100,
        900,
        "SELECT time FROM drone_frames WHERE mission_id = 'bench-m-050' ORDER BY time OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "camera events (69 days)",
        "/v1/camera-events",
        dict(WINDOW),
        100,
        400_000,
        "SELECT start_time, event_id FROM camera_events ORDER BY start_time DESC, event_id DESC "
        "OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "dead letters",
        "/v1/dead-letters",
        {},
        100,
        900_000,
        "SELECT last_received_at, id FROM dead_letters ORDER BY last_received_at DESC, id DESC "
        "OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "dead letters of 1 device",
        "/v1/dead-letters",
        {"device_id": "bench-g-042"},
        100,
        9_000,
        "SELECT last_received_at, id FROM dead_letters WHERE device_id = 'bench-g-042' "
        "ORDER BY last_received_at DESC, id DESC OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "audit",
        "/v1/audit",
        {},
        100,
        900_000,
        "SELECT id FROM audit_log ORDER BY id DESC OFFSET %(n)s - 1 LIMIT 1",
    ),
    Case(
        "audit by path prefix",
        "/v1/audit",
        {"path_prefix": "/v1/missions"},
        100,
        200_000,
        "SELECT id FROM audit_log WHERE path LIKE '/v1/missions%%' ORDER BY id DESC OFFSET %(n)s - 1 LIMIT 1",
    ),
]


def load(settings: Settings, reload: bool) -> dict[str, float]:
    """Fill the benchmark database once (the load takes minutes); returns seconds per step."""
    if not needs_load(settings, "audit_log", 1_000_000, reload):
        return {}
    took: dict[str, float] = {}
    with psycopg.connect(settings.owner_database_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        for step, statement in LOAD:
            started = time.perf_counter()
            conn.execute(statement, {"t0": T0})
            took[step] = round(time.perf_counter() - started, 1)
            print(f"  loaded {step:<22} {took[step]:>7.1f} s", flush=True)
        conn.execute("VACUUM ANALYZE")
    return took


def _index_migrations(settings: Settings, apply: bool) -> None:
    """Roll back or apply the list-index migrations with their own files (yoyo)."""
    backend = get_backend(settings.owner_database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    chosen = read_migrations(*migration_sources()).filter(lambda m: m.id in LIST_INDEX_MIGRATIONS)
    with backend.lock(), contextlib.redirect_stdout(io.StringIO()):
        if apply:
            backend.apply_migrations(backend.to_apply(chosen))
        else:
            backend.rollback_migrations(backend.to_rollback(chosen))
    with psycopg.connect(settings.owner_database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _latencies(get: Callable[[], Any], samples: int) -> dict[str, float]:
    for _ in range(2):
        get()
    values = []
    for _ in range(samples):
        started = time.perf_counter()
        response = get()
        values.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    values.sort()
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p99_ms": round(values[min(len(values) - 1, round(0.99 * (len(values) - 1)))], 1),
    }


def measure(client: TestClient, settings: Settings, phase: str, samples: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with psycopg.connect(settings.owner_database_url) as conn:
        for case in CASES:
            base = {**case.params, "limit": case.limit}
            first = _latencies(functools.partial(client.get, case.path, params=base), samples)
            if phase == "before" or case.key is None:
                # offsets deeper than MAX_OFFSET are refused since issue 19: "before" reads the deepest one served
                deep_params = {**base, "offset": min(case.depth, MAX_OFFSET)}
            else:
                row = conn.execute(case.key, {"n": case.depth}).fetchone()
                assert row is not None, case.name
                deep_params = {**base, "cursor": encode_cursor(list(row), list_name("GET", case.path, base.items()))}
            deep = _latencies(functools.partial(client.get, case.path, params=deep_params), samples)
            by = f"offset {deep_params['offset']}" if "offset" in deep_params else "cursor"
            figures[case.name] = {"page_1": first, f"deep_page_{case.depth}": deep, "by": by}
            print(
                f"  {phase:<7} {case.name:<32} page 1 p50 {first['p50_ms']:>8.1f} ms p99 {first['p99_ms']:>8.1f}"
                f" | at {case.depth:>7} ({figures[case.name]['by']}) p50 {deep['p50_ms']:>8.1f} ms"
                f" p99 {deep['p99_ms']:>8.1f}",
                flush=True,
            )
    return figures


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per case and page, the median over runs of each figure."""
    merged: dict[str, Any] = {}
    for case, pages in runs[0].items():
        merged[case] = {"by": pages["by"]}
        for page, figures in pages.items():
            if page == "by":
                continue
            merged[case][page] = {
                name: round(statistics.median(run[case][page][name] for run in runs), 1) for name in figures
            }
    return merged


def main(settings: Settings, samples: int, reload: bool, repeat: int = 3) -> dict[str, Any]:
    settings = settings.model_copy(update={"pg_database": DATABASE})
    took = load(settings, reload)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        token = create_token(conn, "bench-lists", [Role.ADMIN]).token
    result: dict[str, Any] = {
        "benchmark": "list_routes",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "samples": samples,
        "repeat": repeat,
        "load_seconds": took,
    }
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as client:
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(repeat):  # the phases alternate, so drift on the machine hits both alike
            _index_migrations(settings, apply=False)
            runs["before"].append(measure(client, settings, "before", samples))
            _index_migrations(settings, apply=True)
            runs["after"].append(measure(client, settings, "after", samples))
        result["before"], result["after"] = _median_of(runs["before"]), _median_of(runs["after"])
    print_table(result)
    write_results("list_routes", result)
    return result


def print_table(result: dict[str, Any]) -> None:
    print("\n| list | page 1 before (p50 / p99 ms) | page 1 after | deep page | deep before (offset) | deep after |")
    print("|---|---|---|---|---|---|")
    for case in CASES:
        before, after = result["before"][case.name], result["after"][case.name]
        deep = f"deep_page_{case.depth}"
        print(
            f"| {case.name} | {before['page_1']['p50_ms']} / {before['page_1']['p99_ms']} "
            f"| {after['page_1']['p50_ms']} / {after['page_1']['p99_ms']} | {case.depth:,} ({after['by']}) "
            f"| {before[deep]['p50_ms']} / {before[deep]['p99_ms']} ({before['by']}) "
            f"| {after[deep]['p50_ms']} / {after[deep]['p99_ms']} |"
        )
