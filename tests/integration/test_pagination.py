"""Cursor pagination: walking a list page by page by `next_cursor` gives every item once, in order, as one
big page does; a cursor that is not one of the list's is a 422, never a 500."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import count, wait_for
from tests.integration.helpers import garden, publish_all

pytestmark = pytest.mark.integration


def walk(api, path: str, params: dict, limit: int) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        page = api.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        pages += 1
        assert pages < 100, "the cursor never ended"
        if cursor is not None:
            assert body["next_offset"] is None  # a page reached by cursor does not offer an offset
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_cursor_pages_give_every_item_once_in_order(stack, ingest, api, db, uid) -> None:
    device = f"pg{uid}"
    good = [garden(device, f"2026-11-28T10:{m:02d}:00Z", soil_vwc_pct=float(m)) for m in range(23)]
    bad = [garden(device, f"2026-11-28T11:{m:02d}:00Z", soil_vwc_pct=-float(m + 1)) for m in range(17)]
    publish_all(stack, good + bad)
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", device) == 17, what="17")
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 23, what="23")

    readings_path = f"/v1/devices/{device}/readings"
    window = {"metric": "soil_vwc_pct", "start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z"}
    whole = api.get(readings_path, params={**window, "limit": 1000}).json()["items"]
    assert [r["value"] for r in whole] == [float(m) for m in range(23)]
    assert walk(api, readings_path, window, 5) == whole

    buckets = walk(api, readings_path, {**window, "bucket": "5m"}, 2)
    assert [b["count"] for b in buckets] == [5, 5, 5, 5, 3]

    letters = walk(api, "/v1/dead-letters", {"device_id": device}, 4)
    assert len(letters) == 17 and len({item["id"] for item in letters}) == 17
    whole_letters = api.get("/v1/dead-letters", params={"device_id": device, "limit": 100}).json()["items"]
    # the same letters in the same order (their replay counters may move meanwhile: another test's replay
    # request names every invalid_field letter, and an ingest worker runs it while this one walks)
    assert [item["id"] for item in letters] == [item["id"] for item in whole_letters]

    audit = walk(api, "/v1/audit", {"path_prefix": "/v1/dead-letters"}, 3)
    assert len(audit) >= 6 and [a["id"] for a in audit] == sorted((a["id"] for a in audit), reverse=True)
    assert all(a["path"].startswith("/v1/dead-letters") for a in audit)
    like_chars = api.get("/v1/audit", params={"path_prefix": "/v1/dead%"}).json()["items"]
    assert like_chars == []  # the prefix is literal: % is not a wildcard


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        base64.urlsafe_b64encode(b"[1]").decode(),  # wrong arity
        base64.urlsafe_b64encode(b'["2026-11-28T10:00:00", 1]').decode(),  # naive time
        base64.urlsafe_b64encode(b'["2026-11-28T10:00:00Z", "x"]').decode(),  # wrong type
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["2026-11-28T10:00:00Z", 99999999999999999999999]').decode(),
    ],
)
def test_a_foreign_cursor_is_a_422(api, cursor) -> None:
    response = api.get("/v1/dead-letters", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_cursor_and_offset_together_are_refused(api) -> None:
    cursor = base64.urlsafe_b64encode(b'["2026-11-28T10:00:00Z", 1]').decode().rstrip("=")
    response = api.get("/v1/dead-letters", params={"cursor": cursor, "offset": 5})
    assert response.status_code == 422 and "not both" in response.text
    events = api.get("/v1/camera-events", params={"cursor": base64.urlsafe_b64encode(b'["x"]').decode()})
    assert events.status_code == 422
    # a lone surrogate (valid JSON, not storable text) and a NUL in the key: 422s, not 500s
    for key in (b'["2026-11-28T10:00:00Z", "\\ud800"]', b'["2026-11-28T10:00:00Z", "a\\u0000b"]'):
        refused = api.get("/v1/camera-events", params={"cursor": base64.urlsafe_b64encode(key).decode()})
        assert refused.status_code == 422, (key, refused.text)
