"""The CSV dialects (services/api/csv_export.py): cells as each writes them, and what cannot become a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.api.csv_export import Column, Dialect, cell, render

FR, STD = Dialect.EXCEL_FR, Dialect.STANDARD


@pytest.mark.parametrize(
    ("value", "standard", "french"),
    [
        (None, "", ""),
        (True, "true", "oui"),
        (False, "false", "non"),
        (3, "3", "3"),
        (-2.5, "-2.5", "-2,5"),
        (-0.0, "0.0", "0,0"),  # a number keeps its sign: only text is guarded
        (1e-05, "0.00001", "0,00001"),
        (1.5e20, "150000000000000000000", "150000000000000000000"),
        (float("nan"), "", ""),
        (datetime(2026, 7, 14, 12, 0, tzinfo=UTC), "2026-07-14T12:00:00Z", "14/07/2026 14:00:00"),  # summer: +2
        (
            datetime(2026, 12, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-12-01T17:00:00Z",
            "01/12/2026 18:00:00",
        ),  # fmt: skip
        ("jardin des Plantes", "jardin des Plantes", "jardin des Plantes"),
        ("=1+2", "'=1+2", "'=1+2"),
        ("+33 6 12", "'+33 6 12", "'+33 6 12"),
        ("-rue", "'-rue", "'-rue"),
        ("@SUM(A1)", "'@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx", "'\tx"),
    ],
)
def test_each_dialect_writes_a_cell_its_readers_take(value: object, standard: str, french: str) -> None:
    assert cell(value, STD) == standard
    assert cell(value, FR) == french


def test_a_time_without_its_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        cell(datetime(2026, 12, 1, 12, 0), STD)


def test_the_french_file_has_a_bom_semicolons_and_quotes_what_needs_it() -> None:
    text = render([Column("lieu"), Column("air_temp_c", "°C")], [["Metz; centre", 1.5], ['dit "ici"', None]], FR)
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows == [["lieu", "air_temp_c (°C)"], ["Metz; centre", "1,5"], ['dit "ici"', ""]]
    standard = render([Column("a")], [["x,y"]], STD)
    assert not standard.startswith("\ufeff") and list(csv.reader(io.StringIO(standard))) == [["a"], ["x,y"]]


def test_the_download_s_name_carries_nothing_a_header_would_misread() -> None:
    from services.api.csv_export import csv_response

    response = csv_response([Column("a")], [], STD, 'cam"; evil=1\r\nX-Injected: yes.csv')
    assert response.headers["content-disposition"] == 'attachment; filename="cam___evil_1__X-Injected__yes.csv"'
