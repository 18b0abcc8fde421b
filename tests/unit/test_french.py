"""French staff-facing formatting (core/french.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.french import NNBSP, duration, moment, number, quantity


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.5, 2, "0,5"),
        (12.0, 2, "12"),
        (1234.567, 2, f"1{NNBSP}234,57"),
        (-0.001, 2, "0"),
        (-3.25, 1, "-3,2"),
        (1500000, 0, f"1{NNBSP}500{NNBSP}000"),
    ],  # fmt: skip
)
def test_numbers_take_a_decimal_comma_and_thin_spaces(value: float, digits: int, text: str) -> None:
    assert number(value, digits) == text


def test_a_quantity_has_its_unit_after_a_thin_space() -> None:
    assert quantity(0.5, "°C") == f"0,5{NNBSP}°C" and quantity(3, "") == "3"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=10), "10 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(minutes=90), "1 h 30 min"),
        (timedelta(days=1, hours=6, minutes=5), "1 j 6 h"),
        (timedelta(days=3), "3 j"),
    ],  # fmt: skip
)
def test_durations_say_their_two_largest_units(span: timedelta, text: str) -> None:
    assert duration(span) == text


def test_a_moment_is_paris_time_with_the_date_when_it_is_not_today() -> None:
    at = datetime(2026, 7, 14, 8, 5, tzinfo=UTC)  # 10 h 05 in Paris (summer time)
    assert moment(at, now=datetime(2026, 7, 14, 20, 0, tzinfo=UTC)) == "à 10 h 05"
    assert moment(at, now=datetime(2026, 7, 15, 9, 0, tzinfo=UTC)) == "le 14/07/2026 à 10 h 05"
    winter = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Paris
    assert moment(winter, now=datetime(2026, 12, 31, 12, 0, tzinfo=UTC)) == "le 01/01/2027 à 0 h 30"
