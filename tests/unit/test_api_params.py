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


def test_time_range_refuses_a_span_longer_than_the_route_allows() -> None:
    end = datetime(2026, 12, 1, tzinfo=UTC)
    assert time_range(end - timedelta(days=31), end, timedelta(hours=1), timedelta(days=31))[0] == end - timedelta(
        days=31
    )
    with pytest.raises(RequestValidationError) as caught:
        time_range(end - timedelta(days=32), end, timedelta(hours=1), timedelta(days=31))
    assert caught.value.errors()[0]["loc"] == ("query", "start")
    assert "at most 31 days" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    "name",
    ["inspection-Œuvre €.csv", 'a "quoted" \\ name/with/slashes.pdf', "tab\there\r\nnewline.csv", "日本語.pdf", ""],
)
def test_a_content_disposition_is_ascii_and_names_the_file_in_utf8(name: str) -> None:
    from urllib.parse import unquote

    from services.api.downloads import attachment

    header = attachment(name)
    header.encode("latin-1")  # what Starlette sends; and it is ASCII
    assert header.isascii() and "\r" not in header and "\n" not in header
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback and all(c.isalnum() or c in "._-" for c in fallback)
    encoded = header.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "".join("_" if c in "/\\\t\r\n" else c for c in name)


def test_an_error_body_can_always_be_encoded() -> None:
    import json

    from services.api.schemas import echoed

    errors = echoed([{"loc": ("body", "\ud800"), "msg": "x", "input": "\udc80" + "y" * 1000}, {"input": b"\xff"}])
    json.dumps(errors, ensure_ascii=False).encode("utf-8")  # strict: no lone surrogate left
    assert errors[0]["loc"] == ["body", "\\ud800"] and len(errors[0]["input"]) <= 210
    assert errors[1]["input"] == "\\xff"


def test_an_end_in_year_one_is_a_422_not_an_overflow() -> None:
    """schemathesis found GET /v1/data-completeness?end=0001-01-01T01:24:04Z a 500: the default start overflowed."""
    from datetime import UTC, datetime, timedelta

    from fastapi.exceptions import RequestValidationError

    from services.api.schemas import time_range

    with pytest.raises(RequestValidationError, match="too early"):
        time_range(None, datetime(1, 1, 1, 1, 24, tzinfo=UTC), default=timedelta(hours=24))
