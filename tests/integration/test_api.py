"""HTTP API: health, capabilities, OpenAPI, and a clear 4xx (never a 500) for bad requests."""

from __future__ import annotations

import re

import pytest
from fastapi import HTTPException

from services.api.deps import authorize
from tests.conftest import wait_for
from tests.integration.helpers import garden, publish_all

pytestmark = pytest.mark.integration


def test_health_reports_database_and_timescaledb_capabilities(api) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    caps = body["capabilities"]
    assert caps["hypertables"] is True and caps["timescaledb_version"]
    # the local stack builds the Apache-only TimescaleDB: TSL features must be reported absent
    if caps["timescaledb_license"] == "apache":
        assert not (caps["compression"] or caps["continuous_aggregates"] or caps["retention_policies"])
    assert api.get("/v1/capabilities").json() == caps


def test_every_v1_route_goes_through_the_authorization_dependency(api) -> None:
    """Deny in authorize(): every /v1 operation of the OpenAPI schema must then answer 403."""

    def deny() -> None:
        raise HTTPException(403, "denied by test")

    paths = api.get("/openapi.json").json()["paths"]
    operations = [(method, path) for path, ops in paths.items() if path.startswith("/v1") for method in ops]
    assert len(operations) >= 12
    api.app.dependency_overrides[authorize] = deny
    try:
        for method, path in operations:
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = api.request(method.upper(), url)
            assert response.status_code == 403, (
                f"{method.upper()} {path} answered {response.status_code} without authorize()"
            )
    finally:
        api.app.dependency_overrides.clear()
    assert api.get("/health").status_code == 200  # the one open route


def test_openapi_documents_every_route(api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for expected in [
        "/health",
        "/v1/devices",
        "/v1/devices/{device_id}/readings",
        "/v1/missions/{mission_id}/frames",
        "/v1/camera-events/{event_id}",
        "/v1/media/{sha256}",
        "/v1/dead-letters/{dead_letter_id}",
    ]:
        assert expected in paths
    assert api.get("/docs").status_code == 200


@pytest.fixture
def known_device(stack, ingest, db, uid) -> str:
    device = f"g{uid}"
    publish_all(stack, [garden(device, "2026-11-28T10:00:00Z")])
    wait_for(
        lambda: db.execute("SELECT 1 FROM garden_readings WHERE device_id = %s", (device,)).fetchone(), what="a reading"
    )
    return device


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/v1/devices/nope-404", 404, "device 'nope-404' not found"),
        ("/v1/devices/{dev}/readings?metric=not_a_metric", 404, "does not exist for ptipot devices"),
        ("/v1/devices/{dev}/readings", 422, "metric"),
        ("/v1/devices/{dev}/readings?metric=rain_mm&bucket=fortnight", 422, "bucket 'fortnight'"),
        ("/v1/devices/{dev}/readings?metric=rain_mm&bucket=0s", 422, "between 1s and 366d"),
        ("/v1/devices/{dev}/readings?metric=rain_mm&start=2026-11-28T00:00:00", 422, "needs a time zone"),
        (
            "/v1/devices/{dev}/readings?metric=rain_mm&start=2026-11-29T00:00:00Z&end=2026-11-28T00:00:00Z",
            422,
            "must be before end",
        ),
        ("/v1/devices/{dev}/readings?metric=rain_mm&start=yesterday", 422, "datetime"),
        ("/v1/devices?limit=0", 422, "greater than or equal to 1"),
        ("/v1/devices?limit=1000000", 422, "less than or equal to 10000"),
        ("/v1/devices?offset=-1", 422, "greater than or equal to 0"),
        ("/v1/missions/none-such", 404, "mission 'none-such' not found"),
        ("/v1/missions/none-such/telemetry", 404, "not found"),
        ("/v1/camera-events/none-such", 404, "not found"),
        ("/v1/camera-events?start=2026-11-28T00:00:00Z&end=2026-11-27T00:00:00Z", 422, "must be before end"),
        ("/v1/media/not-a-hash", 422, "64 lowercase hexadecimal"),
        ("/v1/media/" + "a" * 64, 404, "no media"),
        ("/v1/dead-letters/0", 422, "greater than or equal to 1"),
        ("/v1/dead-letters/99999999999999999999", 422, "less than or equal to"),
        ("/v1/dead-letters/abc", 422, "integer"),
        ("/v1/dead-letters/9223372036854775807", 404, "not found"),
        ("/v1/no-such-route", 404, "Not Found"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message(api, known_device, path, status, words) -> None:
    response = api.get(path.format(dev=known_device))
    assert response.status_code == status, response.text
    assert words in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_nothing_from_another_host(api, page) -> None:
    """Swagger UI and ReDoc come from the vendored assets (scripts/vendor-assets), not a CDN: /docs works on a
    network without internet (issue 22)."""
    import re

    html = api.get(page)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    loaded = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    for pattern in (r"""url: ?["']([^"']+)["']""", r"""spec-url=["']([^"']+)["']"""):
        loaded += re.findall(pattern, html.text)
    assert loaded and all(u.startswith("/") and not u.startswith("//") for u in loaded), loaded
    assert "cdn" not in html.text.lower() and "fonts.googleapis" not in html.text
    for url in loaded:
        served = api.get(url)
        assert served.status_code == 200, url
        assert len(served.content) > 100, url
    assert '"validatorUrl": null' in html.text or page == "/redoc"  # no spec sent to validator.swagger.io
