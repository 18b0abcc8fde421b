from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.exceptions import RequestValidationError

from services.api.schemas import parse_bucket, time_range


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
    ],
)
def test_bucket_parses(text: str, delta: timedelta) -> None:
    assert parse_bucket(text) == delta


@pytest.mark.parametrize("text", ["", "15", "m", "1w", "0s", "400d", "1.5h", "-1h", "1 h"])
def test_bad_bucket_is_a_422(text: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_bucket(text)
    assert caught.value.errors()[0]["loc"] == ("query", "bucket")


def test_time_range_defaults_and_checks() -> None:
    start, end = time_range(None, None, timedelta(hours=24))
    assert end - start == timedelta(hours=24)
    with pytest.raises(RequestValidationError):
        time_range(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1))
    with pytest.raises(RequestValidationError):
        time_range(datetime(2026, 1, 1), None, timedelta(hours=1))
