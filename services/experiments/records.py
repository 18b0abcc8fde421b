"""The city's own records of a pilot's problem, imported as a baseline (issue 22, item 1): for the dumping
pilot, one line per illegal dump the city recorded (date, place, volume in m³), as its services export them
from a spreadsheet: comma or semicolon separated, UTF-8 with or without BOM, a decimal comma or point, dates
``2026-03-01`` or ``01/03/2026``. A file is taken whole or refused with the line that is wrong.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime

MAX_LINES = 50_000
HEADER = ("date", "place", "volume")


class RecordsRefused(ValueError):
    """The file cannot be taken; the message says which line and why."""


@dataclass(frozen=True)
class Record:
    line: int
    day: date
    place: str
    volume_m3: float | None


def _day(text: str, line: int) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise RecordsRefused(f"line {line}: date {text[:40]!r} is neither AAAA-MM-JJ nor JJ/MM/AAAA")


def _volume(text: str, line: int) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text.strip().replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        raise RecordsRefused(f"line {line}: volume {text[:40]!r} is not a number") from None
    if not math.isfinite(value) or not 0 <= value < 10_000:
        raise RecordsRefused(f"line {line}: volume {text[:40]!r} is not between 0 and 10,000 m³")
    return value


def parse(data: bytes) -> list[Record]:
    """The file's records, or ``RecordsRefused``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordsRefused("the file is not UTF-8 (export it as CSV UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower().split(" ")[0] for h in next(rows, [])]
    if tuple(header[:3]) != HEADER:
        raise RecordsRefused(f"line 1: the header must be date{delimiter}place{delimiter}volume, not "
                             f"{delimiter.join(header)[:100]!r}")  # fmt: skip
    records: list[Record] = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise RecordsRefused(f"line {line}: a date and a place at least")
        if len(records) >= MAX_LINES:
            raise RecordsRefused(f"more than {MAX_LINES} records: split the file")
        place = row[1].strip()
        if not 1 <= len(place) <= 200 or "\x00" in place:
            raise RecordsRefused(f"line {line}: a place of 1 to 200 characters")
        records.append(Record(line, _day(row[0], line), place, _volume(row[2] if len(row) > 2 else "", line)))
    if not records:
        raise RecordsRefused("no record under the header")
    return records
