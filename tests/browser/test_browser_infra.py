"""The browser test tools prove themselves on what exists: the API docs (Swagger UI, ReDoc) render from the
vendored assets with every host but 127.0.0.1 blocked, and axe-core finds a known violation and none on a clean
page. Swagger UI and ReDoc are not ours: they are not held to axe."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    SCREENS,
    axe_violations,
    external_requests,
    format_violations,
    no_external_requests,
    screenshot,
)

pytestmark = pytest.mark.browser


@pytest.mark.integration
@pytest.mark.parametrize("screen", list(SCREENS))
def test_swagger_ui_renders_offline(page: Page, screen: str) -> None:
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible()  # the operations list, from /openapi.json
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    no_external_requests(page)
    path = screenshot(page, "public-docs")
    assert path.name == f"public-docs-{screen}.png" and path.stat().st_size > 10_000


# ReDoc 2.5.4 draws "API docs by Redocly" with this image in every page's menu, whatever its options
REDOCLY_LOGO = "GET https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.integration
def test_redoc_renders_offline(page: Page) -> None:
    page.goto("/redoc")
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached(timeout=20_000)
    expect(page.locator("h1").first).to_be_visible()
    screenshot(page, "public-redoc", full_page=False)  # the whole reference is 77,000 pixels high: 6 s
    no_external_requests(page)


def test_a_request_elsewhere_is_blocked_and_recorded(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.set_content('<img src="https://cdn.example.org/logo.png" alt="logo">')
    assert external_requests(page) == ["GET https://cdn.example.org/logo.png"]
    with pytest.raises(AssertionError, match="cdn.example.org"):
        no_external_requests(page)
    external_requests(page).clear()  # accepted here: the fixture's own check at teardown passes


FORM = """<!doctype html><html lang="fr"><head><title>Connexion</title></head>
<body><main><h1>Connexion</h1><form>{field}<button type="submit">Se connecter</button></form></main></body></html>"""


def test_axe_finds_an_input_without_label(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.set_content(FORM.format(field='<input type="password" name="jeton">'))
    violations = axe_violations(page)
    assert [v["id"] for v in violations] == ["label"], format_violations(violations)
    assert violations[0]["nodes"][0]["target"] == ["input"]  # axe's shortest unique CSS selector


def test_axe_finds_nothing_on_a_labelled_form(new_page: Callable[..., Page]) -> None:
    page = new_page("phone")
    page.set_content(FORM.format(field='<label for="jeton">Jeton d’accès</label><input id="jeton" type="password">'))
    assert axe_violations(page, impact_at_least="minor") == []
