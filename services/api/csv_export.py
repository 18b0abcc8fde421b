"""CSV files people open (issue 22, item 3): two dialects, the unit in every header.

- ``standard``: comma-separated, UTF-8 without BOM, a point for decimals, times in ISO 8601 UTC (what a
  script, pandas or a GIS reads).
- ``excel-fr``: what French Excel opens in columns on a double click, for French staff: semicolon-separated,
  UTF-8 *with* a BOM (without it Excel reads the bytes as Windows-1252), French column names and states
  (``FRENCH_HEADERS``, ``FRENCH_VALUES``), a comma for decimals, times as
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

from core.french import OBJECT_NAMES, SERVICE_NAMES

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


# What French Excel's reader sees in a header: the column's French name (the standard dialect keeps the field
# names a script reads); a column not listed keeps its name (a metric has its own French name: ``title_fr``)
FRENCH_HEADERS = {
    "id": "n°", "time": "heure", "bucket": "début de la période", "rule_name": "règle", "severity": "gravité",
    "state": "état", "service": "service", "device_id": "appareil", "subject": "objet de l'alerte",
    "began_at": "début", "fired_at": "déclenchement", "cleared_at": "fin", "metric": "mesure",
    "trigger_value": "valeur au déclenchement", "worst_value": "valeur la plus critique", "unit": "unité",
    "summary": "résumé", "acknowledged_by": "prise en charge par", "acknowledged_at": "prise en charge le",
    "assignee": "assignée à", "resolution": "issue", "resolved_by": "résolue par", "resolved_at": "résolue le",
    "location": "lieu", "label": "objet", "zone": "zone", "suspected_at": "suspecté le",
    "time_to_clearance": "délai d'enlèvement", "legal_hold": "scellé", "evidence_purged_at": "preuves effacées le",
    "kpi": "clé de l'indicateur", "value": "période", "baseline": "référence", "definition": "définition (anglais)",
}  # fmt: skip
# and the values a few columns take, as staff say them
FRENCH_VALUES = {
    "severity": {"info": "information", "warning": "avertissement", "critical": "critique"},
    "alert_state": {"firing": "en cours", "acknowledged": "prise en charge", "resolved": "résolue"},
    "resolution": {"cleared": "revenue à la normale", "by_hand": "résolue à la main", "retracted": "retirée"},
    "incident_state": {"suspected": "suspecté", "confirmed": "confirmé", "dismissed": "écarté", "cleared": "enlevé",
                       "closed": "clos"},
    "object": OBJECT_NAMES,
    "service": SERVICE_NAMES,
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """A CSV column: its name and, for a quantity, its unit (``air_temp_c (°C)``; a time says its zone). In the
    French dialect the header is its French name, and ``values`` (a key of ``FRENCH_VALUES``) says its values."""

    name: str
    unit: str | None = None
    title_fr: str | None = None
    values: str | None = None

    def header(self, dialect: Dialect) -> str:
        name = self.name
        if dialect is Dialect.EXCEL_FR:
            name = self.title_fr or FRENCH_HEADERS.get(self.name, self.name)
        return f"{name} ({self.unit})" if self.unit else name

    def said(self, value: Any, dialect: Dialect) -> Any:
        if dialect is Dialect.EXCEL_FR and self.values and isinstance(value, str):
            return FRENCH_VALUES[self.values].get(value, value)
        return value


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
        writer.writerow([cell(c.said(v, dialect), dialect) for c, v in zip(columns, row, strict=True)])
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
