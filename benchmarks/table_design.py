"""Narrow vs wide telemetry tables, measured on the project's TimescaleDB.

Both designs are written through the path ingest uses (COPY into a staging table, then
``INSERT … SELECT … ON CONFLICT DO NOTHING`` on the natural key) and then queried the way the API
queries them. Drone telemetry (13 metrics per message) is the demanding case.

    narrow: readings(time, device_id, metric, value)    unique (device_id, metric, time)
    wide:   drone_telemetry(time, device_id, mission_id, chainage_m, … 12 more)  unique (device_id, time)

Run: ``tlab bench table-design [--messages N]``; prints a table, writes benchmarks/results/table_design.json.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from benchmarks.results import write_results
from core.db import one_row

METRICS = (
    "chainage_m",
    "speed_mps",
    "heading_deg",
    "pitch_deg",
    "roll_deg",
    "water_level_pct",
    "water_temp_c",
    "air_temp_c",
    "h2s_ppm",
    "ch4_pct_lel",
    "o2_pct",
    "battery_pct",
    "rssi_dbm",
)

NARROW_DDL = """
DROP TABLE IF EXISTS bench_narrow;
CREATE TABLE bench_narrow (time timestamptz NOT NULL, device_id text NOT NULL, metric text NOT NULL,
                           value double precision NOT NULL, UNIQUE (device_id, metric, time));
SELECT create_hypertable('bench_narrow', by_range('time', INTERVAL '1 day'));
"""
WIDE_DDL = """
DROP TABLE IF EXISTS bench_wide;
CREATE TABLE bench_wide (time timestamptz NOT NULL, device_id text NOT NULL, mission_id text NOT NULL, {cols},
                         UNIQUE (device_id, time));
SELECT create_hypertable('bench_wide', by_range('time', INTERVAL '1 day'));
""".format(cols=", ".join(f"{m} double precision" for m in METRICS))


def _messages(n: int, devices: int, seed: int) -> list[tuple[datetime, str, str, tuple[float, ...]]]:
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        device = f"drone-{i % devices:02d}"  # as long as the drones' ids it stands for
        ts = t0 + timedelta(milliseconds=200 * (i // devices))
        out.append((ts, device, f"{device}-m{i // 5000}", tuple(round(rng.uniform(0, 100), 3) for _ in METRICS)))
    return out


def _write(
    conn: psycopg.Connection[Any], table: str, columns: list[str], rows: list[tuple[Any, ...]], batch: int
) -> float:
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} (LIKE {table}) ON COMMIT DELETE ROWS")
    cols = ", ".join(columns)
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY stage_{table} ({cols}) FROM STDIN") as copy:
                for row in rows[i : i + batch]:
                    copy.write_row(row)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM stage_{table} ON CONFLICT DO NOTHING")
    return time.perf_counter() - started


def _timed(fn: Callable[[], Any], repeat: int = 7) -> float:
    fn()  # warm the cache: we compare designs, not disks
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def run(
    database_url: str, messages: int = 100_000, devices: int = 5, batch: int = 500, seed: int = 1
) -> dict[str, Any]:
    data = _messages(messages, devices, seed)
    narrow_rows = [(ts, dev, m, v) for ts, dev, _mission, values in data for m, v in zip(METRICS, values, strict=True)]
    wide_rows = [(ts, dev, mission, *values) for ts, dev, mission, values in data]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(NARROW_DDL)
        conn.execute(WIDE_DDL)
        narrow_s = _write(
            conn, "bench_narrow", ["time", "device_id", "metric", "value"], narrow_rows, batch * len(METRICS)
        )
        wide_s = _write(conn, "bench_wide", ["time", "device_id", "mission_id", *METRICS], wide_rows, batch)
        conn.execute("ANALYZE bench_narrow")
        conn.execute("ANALYZE bench_wide")
        size = {t: one_row(conn.execute("SELECT hypertable_size(%s)", (t,)))[0] for t in ("bench_narrow", "bench_wide")}
        device = data[0][1]
        start, end = data[0][0], data[-1][0]
        one_metric = {
            "bench_narrow": lambda: conn.execute(
                "SELECT time_bucket('1 minute', time) b, avg(value) FROM bench_narrow WHERE device_id = %s "
                "AND metric = 'h2s_ppm' AND time >= %s AND time < %s GROUP BY b",
                (device, start, end),
            ).fetchall(),
            "bench_wide": lambda: conn.execute(
                "SELECT time_bucket('1 minute', time) b, avg(h2s_ppm) FROM bench_wide WHERE device_id = %s "
                "AND time >= %s AND time < %s GROUP BY b",
                (device, start, end),
            ).fetchall(),
        }
        mission_rows = {
            "bench_narrow": lambda: conn.execute(
                "SELECT time, "
                + ", ".join(f"max(value) FILTER (WHERE metric = '{m}')" for m in METRICS)
                + " FROM bench_narrow WHERE device_id = %s AND time >= %s AND time < %s GROUP BY time ORDER BY time",
                (device, start, start + timedelta(minutes=10)),
            ).fetchall(),
            "bench_wide": lambda: conn.execute(
                "SELECT * FROM bench_wide WHERE device_id = %s AND time >= %s AND time < %s ORDER BY time",
                (device, start, start + timedelta(minutes=10)),
            ).fetchall(),
        }
        result: dict[str, Any] = {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "postgres": one_row(conn.execute("SHOW server_version"))[0],
                "timescaledb": one_row(conn.execute("SELECT extversion FROM pg_extension WHERE extname='timescaledb'"))[
                    0
                ],
            },
            "messages": messages,
            "metrics_per_message": len(METRICS),
            "devices": devices,
            "batch_messages": batch,
            "designs": {},
        }
        for table, name, seconds, rows in (
            ("bench_narrow", "narrow", narrow_s, len(narrow_rows)),
            ("bench_wide", "wide", wide_s, len(wide_rows)),
        ):
            result["designs"][name] = {
                "rows": rows,
                "write_seconds": round(seconds, 2),
                "messages_per_second": round(messages / seconds),
                "bytes_per_message": round(size[table] / messages, 1),
                "total_mb": round(size[table] / 1e6, 1),
                "query_one_metric_1min_buckets_ms": round(_timed(one_metric[table]), 2),
                "query_10min_all_metrics_ms": round(_timed(mission_rows[table]), 2),
            }
        conn.execute("DROP TABLE bench_narrow")
        conn.execute("DROP TABLE bench_wide")
    return result


def print_table(result: dict[str, Any]) -> None:
    keys = [
        "rows",
        "write_seconds",
        "messages_per_second",
        "bytes_per_message",
        "total_mb",
        "query_one_metric_1min_buckets_ms",
        "query_10min_all_metrics_ms",
    ]
    designs = result["designs"]
    print(
        f"{result['messages']} drone telemetry messages x {result['metrics_per_message']} metrics, "
        f"{result['devices']} devices, batches of {result['batch_messages']} messages"
    )
    print(f"{'':38}{'narrow':>14}{'wide':>14}{'wide/narrow':>14}")
    for key in keys:
        n, w = designs["narrow"][key], designs["wide"][key]
        print(f"{key:38}{n:>14}{w:>14}{(w / n if n else 0):>14.2f}")


def main(database_url: str, messages: int) -> dict[str, Any]:
    result = run(database_url, messages=messages)
    print_table(result)
    write_results("table_design", result)
    return result
