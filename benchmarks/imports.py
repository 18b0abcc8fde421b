"""A contractor's delivery imported (issue 23; docs/exchange.md): how long ``POST /v1/inspection-imports`` holds a
request for a city-sized EN 13508-2 file, read and checked (pure) and stored (the database).

The file is generated: ``--inspections`` pipes (default 400, a year's CCTV lot of a town of 50,000) of
``--rows`` observation rows each (default 30: nodes, a few continuous defects, point defects, connections),
in the text form (ISO-8859-1, ``;``, decimal comma, as French contractors' software writes it) and in the
XML form. Each figure is the median of ``--repeat`` runs after a warm-up; each stored import is removed
before the next (a file is taken once).

Run: ``tlab bench imports [--inspections 400] [--rows 30] [--repeat 5]``; prints a table, writes
benchmarks/results/imports.json.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.bench_database import needs_load
from benchmarks.results import write_results
from core.db import connect
from core.settings import Settings
from services.reports.exchange import ExchangeFile, parse_text, read, to_xml
from services.reports.importing import inspections_of, store

DATABASE = "tlab_bench_imports"
DEFECTS = ("BAB", "BAF", "BAJ", "BBA", "BBB", "BBC", "BBE", "BBF", "BCA")


def delivery(inspections: int, rows: int, seed: int = 7) -> str:
    """A contractor's text file: each pipe from node to node, its rows along it."""
    rng = random.Random(seed)
    lines = ["#A1=ISO-8859-1", "#A2=fr", "#A3=;", "#A4=,", '#A5="', "#A6=2011"]
    for n in range(1, inspections + 1):
        length = round(rng.uniform(20, 90), 1)
        lines += [
            "#B01=AAA;AAD;AAF;AAJ;AAK;AAN;ABA;ABE;ABF;ABG;ABH;ACA;ACB;ACD;ACM",
            f"T{n:05d};R{n:05d};R{n + 1:05d};Rue n° {n} « côté pair »;A;Béthune;EN 13508-2:2003+A1:2011;A;"
            f"2026-03-{1 + n % 28:02d};{8 + n % 9:02d}:{n % 60:02d};Équipe ITV {n % 4};A;{rng.choice((300, 600))};AG;A",
            "#C=I;A;B;C;D;G;H;J;K;F;M",
            f"0;BCD;A;;R{n:05d};;;;;;P{n}-0",
        ]
        body: list[tuple[float, str]] = []
        marks = 0
        for r in range(rows - 2):
            at = round(rng.uniform(0.5, length - 0.5), 2)
            code = rng.choice(DEFECTS)
            if r % 10 == 0 and at + 2 < length:  # a continuous defect: two rows
                marks += 1
                body.append((at, f"{at:.2f};BBC;A;;10;5;7;S{marks:02d};;dépôts;".replace(".", ",")))
                body.append((at + 2, f"{at + 2:.2f};BBC;A;;10;5;7;F{marks:02d};;dépôts;".replace(".", ",")))
            else:
                body.append((at, f"{at:.2f};{code};A;;{rng.randint(1, 30)};{rng.randint(1, 12)};;;A;"
                                 f'"remarque ; n° {r}";P{n}-{r}'.replace(".", ",")))  # fmt: skip
        lines += [line for _, line in sorted(body)]
        lines += [f"{length:.1f};BCE;A;;R{n + 1:05d};;;;;;P{n}-z".replace(".", ","), "#Z"]
    return "\n".join(lines) + "\n"


def _median_ms(run: Any, repeat: int) -> float:
    run()  # warm-up
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        took.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(took), 1)


def main(settings: Settings, inspections: int, rows: int, repeat: int) -> dict[str, Any]:
    settings = settings.model_copy(update={"pg_database": DATABASE})
    needs_load(settings, "inspection_imports", 10**9, reload=False)  # the stack up, the database migrated
    text = delivery(inspections, rows)
    files = {"text": text.encode("iso-8859-1"), "xml": to_xml(parse_text(text)).encode()}
    exchange: ExchangeFile = parse_text(text)
    observations = sum(len(i.observations) for i in inspections_of(exchange)[0])
    figures: dict[str, dict[str, float]] = {}
    with connect(settings.owner_database_url) as conn:

        def stored(data: bytes) -> None:
            imported = store(conn, data, "bench", "bench")
            with conn.transaction():  # as DELETE /v1/inspection-imports/{id} does
                conn.execute("DELETE FROM observations WHERE mission_id = ANY(%s)", (imported.missions,))
                conn.execute("DELETE FROM missions WHERE import_id = %s", (imported.id,))
                conn.execute("DELETE FROM inspection_imports WHERE id = %s", (imported.id,))

        for form, data in files.items():
            figures[form] = {
                "bytes": len(data),
                "read_and_check_ms": _median_ms(lambda d=data: inspections_of(read(d)[0]), repeat),
                "store_ms": _median_ms(lambda d=data: stored(d), repeat),
            }
            took = figures[form]
            print(f"{form:<5} {len(data) / 1024:>8.0f} KiB  read and checked {took['read_and_check_ms']:>8.1f} ms  "
                  f"read, checked and stored {took['store_ms']:>8.1f} ms (median of {repeat})", flush=True)  # fmt: skip
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "data": f"{inspections} inspections, {sum(len(i.observations) for i in exchange.inspections)} rows, "
        f"{observations} observations (a continuous defect is two rows)",
        "repeat": repeat,
        "median": figures,
    }
    write_results("imports", result)
    return result
