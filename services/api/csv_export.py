"""CSV files people open (issue 22, item 3): two dialects, the unit in every header.

- ``standard``: comma-separated, UTF-8 without BOM, a point for decimals, times in ISO 8601 UTC (what a
  script, pandas or a GIS reads).
- ``excel-fr``: what French Excel opens in columns on a double click: semicolon-separated, UTF-8 *with* a
  BOM (without it Excel reads the bytes as Windows-1252), a comma for decimals, times as
  ``JJ/MM/AAAA HH:MM:SS`` in Europe/Paris (the header says so), booleans ``oui``/``non``; a readings export's
  buckets start at Paris midnight in this dialect, at UTC midnight in the standard one.

Numbers are written in full (no exponent: Excel would read ``1E-05`` as text in some locales), never
rounded. A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return: a device's name or a label can carry any of them) is prefixed with an apostrophe
(OWASP's "CSV injection" advice); numbers are not text and keep their sign.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Query
from fastapi.responses import Response

PARIS = ZoneInfo("Europe/Paris")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class Dialect(StrEnum):
    STANDARD = "standard"
    EXCEL_FR = "excel-fr"


DialectQuery = Annotated[
    Dialect,
    Query(
        description="standard: comma, UTF-8, decimal point, ISO 8601 UTC times; excel-fr: semicolon, UTF-8 with "
        "BOM, decimal comma, Europe/Paris times (French Excel opens it in columns)."
    ),
]


@dataclass(frozen=True)
class Column:
    """A CSV column: its name and, for a quantity, its unit (``air_temp_c (°C)``; a time says its zone)."""

    name: str
    unit: str | None = None

    def header(self, dialect: Dialect) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


TIME_UNIT = {Dialect.STANDARD: "UTC, ISO 8601", Dialect.EXCEL_FR: "Europe/Paris"}


def time_column(name: str, dialect: Dialect) -> Column:
    return Column(name, TIME_UNIT[dialect])


def cell(value: Any, dialect: Dialect) -> str:
    """One value as the dialect writes it."""
    french = dialect is Dialect.EXCEL_FR
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("oui" if value else "non") if french else ("true" if value else "false")
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and value != value:  # NaN: nothing to say
            return ""
        if isinstance(value, float):
            value += 0.0  # -0.0 is written 0
        text = format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
        return text.replace(".", ",") if french else text
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a time without its zone cannot be written")
        if french:
            return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")
        return value.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(columns: Sequence[Column], rows: Iterable[Sequence[Any]], dialect: Dialect) -> str:
    out = io.StringIO()
    french = dialect is Dialect.EXCEL_FR
    if french:
        out.write(BOM)
    writer = csv.writer(out, delimiter=";" if french else ",", lineterminator="\r\n")
    writer.writerow([c.header(dialect) for c in columns])
    for row in rows:
        writer.writerow([cell(v, dialect) for v in row])
    return out.getvalue()


def csv_response(columns: Sequence[Column], rows: Iterable[Sequence[Any]], dialect: Dialect, filename: str) -> Response:
    """The file, as a download named ``filename`` (anything but letters, digits, dot, dash and underscore becomes
    ``_``: it goes into a header, and a device's id is the device's word)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:120] or "export.csv"
    return Response(
        render(columns, rows, dialect).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
