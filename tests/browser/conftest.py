"""Browser tests: the real API app under a real uvicorn, driven by Debian's Chromium through Playwright.

Playwright's own browser download needs a host the lab networks cannot reach, so the tests launch the
``chromium`` Debian package (deploy/install-debian.sh installs it). Every page is cut from the network
except 127.0.0.1: a request elsewhere is aborted and recorded, and the test fails (a console page must
work on a municipal network without internet, and must not leak who looks at what to a third party).

What a test uses (fixtures, then helpers it imports from here):
  console_server -> "http://127.0.0.1:<port>"   the API app (console included), for the session
  browser        -> playwright Browser           headless Chromium, for the session
  screen         -> "desktop" (default) | "phone"; parametrize it to run a test on both
  new_page(screen="desktop", base_url=None) -> Page   a page in a fresh context (no server needed)
  page           -> Page on ``screen``, base_url = console_server (so ``page.goto("/console/")``)
  no_external_requests(page), external_requests(page)
  axe_violations(page, impact_at_least="serious"), assert_accessible(page, impact_at_least="serious")
  screenshot(page, "<role>-<page>", full_page=True) -> <artifacts>/screenshots/<role>-<page>-<screen>.png
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import urllib.request
import weakref
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Route, WebSocketRoute, expect, sync_playwright

from core.settings import Settings
from tests.conftest import TEST_STATE, wait_for

ALLOWED_HOST = "127.0.0.1"
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
IMPACTS = ["minor", "moderate", "serious", "critical"]  # axe's order, least to worst
# Playwright waits 30 s for an element and its expect() 5 s: one missing element should not cost half a minute,
# and a suite sharing 2 cores should not fail a page that takes 6 s to draw
ACTION_TIMEOUT_MS = 10_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)

# CSS pixels. The phone is a common 390-wide handset (meta viewport honoured, touch); scale 1 keeps
# full-page screenshots small and quick (the layout is the same as on a 3x screen).
SCREENS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


# --- the API over real HTTP ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def console_server(stack: Settings) -> Iterator[str]:
    """The real API app (console included) under uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    from services.api.main import create_app

    with socket.socket() as sock:
        sock.bind((ALLOWED_HOST, 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(stack), host=ALLOWED_HOST, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    base = f"http://{ALLOWED_HOST}:{port}"

    def listening() -> bool:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=1).close()
        except OSError:
            return False
        return True

    wait_for(listening, what="the API to listen")
    yield base
    server.should_exit = True
    thread.join(15)


# --- the browser ---------------------------------------------------------------------------------


def chromium_executable() -> str | None:
    """Debian's Chromium: the launcher script, which runs /usr/lib/chromium/chromium with Debian's flags."""
    return shutil.which("chromium") or next(
        (p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium") if os.access(p, os.X_OK)), None
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for a test module (a launch costs about half a second; a context, milliseconds).

    Not for the session: Playwright's sync API keeps an event loop running in the main thread while it is
    started, and a later test's ``asyncio.run()`` then fails ("cannot be called from a running event loop").

    No Chromium: skipped on a developer's machine, failed under CI (``CI`` set), where the setup installs it.
    As root (CI, the lab's machines) Chromium refuses to start with its sandbox; Playwright's default
    ``chromium_sandbox=False`` passes ``--no-sandbox``. The pages are our own, served from 127.0.0.1.
    """
    executable = chromium_executable()
    if executable is None:
        message = "no Chromium executable: install Debian's package (apt-get install chromium; ./lab does it)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, chromium_sandbox=False)
        yield launched
        launched.close()


# --- pages cut from the network ------------------------------------------------------------------


@dataclass
class ContextRecord:
    screen: str
    external: list[str] = field(default_factory=list)  # "GET https://cdn.example/x.js", in order


_records: weakref.WeakKeyDictionary[BrowserContext, ContextRecord] = weakref.WeakKeyDictionary()


def _is_external(url: str) -> bool:
    return urlsplit(url).hostname != ALLOWED_HOST


def _cut_from_network(context: BrowserContext, record: ContextRecord) -> None:
    """Abort and record every request (and WebSocket) of the context to a host other than 127.0.0.1.
    data:, blob: and about: URLs never reach the network and are not routed."""

    def refuse(route: Route) -> None:
        record.external.append(f"{route.request.method} {route.request.url}")
        route.abort("blockedbyclient")

    def refuse_socket(ws: WebSocketRoute) -> None:
        record.external.append(f"WEBSOCKET {ws.url}")
        ws.close()

    context.route(_is_external, refuse)
    context.route_web_socket(_is_external, refuse_socket)


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps the test's own outcome, so ``new_page`` checks the network only after a test that passed."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


@pytest.fixture
def screen() -> str:
    """The screen of ``page``: "desktop". ``@pytest.mark.parametrize("screen", list(SCREENS))`` runs a test on both."""
    return "desktop"


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Opens pages, each in its own context (own cookies: one signed-in person each), French, Paris time,
    cut from the network. At teardown the contexts close and a test that passed errors if a page tried to
    leave 127.0.0.1 (a test that forgot ``no_external_requests``; one that failed already says why)."""
    contexts: list[BrowserContext] = []

    def open_page(screen: str = "desktop", base_url: str | None = None) -> Page:
        if screen not in SCREENS:
            raise ValueError(f"unknown screen {screen!r}: one of {sorted(SCREENS)}")
        context = browser.new_context(
            **SCREENS[screen],
            locale="fr-FR",
            timezone_id="Europe/Paris",
            base_url=base_url,
            service_workers="block",  # a service worker's requests would bypass the routes
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        record = _records[context] = ContextRecord(screen)
        _cut_from_network(context, record)
        contexts.append(context)
        return context.new_page()

    yield open_page
    left = [url for context in contexts for url in _records[context].external]
    for context in contexts:
        context.close()
    outcome = request.node.stash.get(CALL_REPORT, None)
    if left and outcome is not None and outcome.passed:
        pytest.fail("pages tried to load from outside 127.0.0.1 (blocked):\n  " + "\n  ".join(left))


@pytest.fixture
def page(new_page: Callable[..., Page], console_server: str, screen: str) -> Page:
    """A page on ``screen`` whose relative URLs go to the API under test: ``page.goto("/console/")``."""
    return new_page(screen, base_url=console_server)


def external_requests(page: Page) -> list[str]:
    """What the page's context tried to load from outside 127.0.0.1 ("METHOD url"); clear it to accept them."""
    return _records[page.context].external


def no_external_requests(page: Page) -> None:
    """Fails if the page's context tried to load anything from a host other than 127.0.0.1."""
    tried = external_requests(page)
    assert not tried, "the page tried to load from outside 127.0.0.1 (blocked):\n  " + "\n  ".join(tried)


# --- accessibility (axe-core, vendored by scripts/vendor-assets) ---------------------------------


def axe_violations(page: Page, *, impact_at_least: str = "serious") -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations of the page's document, at or above ``impact_at_least``
    (minor, moderate, serious, critical). Each is axe's dict: id, impact, help, helpUrl, nodes[].target...

    The script is evaluated through the DevTools protocol rather than added as a <script> tag: the console's
    Content-Security-Policy refuses inline scripts, and bypassing the policy would hide its own breakages.
    """
    floor = IMPACTS.index(impact_at_least)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    results = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        WCAG_TAGS,
    )
    return [v for v in results["violations"] if IMPACTS.index(v["impact"] or "minor") >= floor]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({v['helpUrl'].split('?')[0]})")
        lines += [f"    {' > '.join(map(str, node['target']))}" for node in v["nodes"]]
    return "\n".join(lines)


def assert_accessible(page: Page, *, impact_at_least: str = "serious") -> None:
    """Fails with one line per rule (id, impact, help, link) and one per element (its CSS selector)."""
    violations = axe_violations(page, impact_at_least=impact_at_least)
    assert not violations, (
        f"{len(violations)} accessibility rule(s) violated ({impact_at_least} or worse) on {page.url}:\n"
        + format_violations(violations)
    )


# --- screenshots for people to look at -----------------------------------------------------------

SCREENSHOT_NAME = re.compile(r"[a-z0-9_]+-[a-z0-9_-]+")


def artifacts_dir() -> Path:
    """$TLAB_TEST_ARTIFACTS if set (CI collects it), else the test stack's state folder's artifacts/. The
    ``stack`` fixture empties that folder when it starts: what is there is the last session's, from the
    moment its stack started (a screenshot taken earlier in a session, of a page needing no server, is lost)."""
    return Path(os.environ.get("TLAB_TEST_ARTIFACTS") or TEST_STATE / "artifacts")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A PNG of the whole page (or of the window only: a very long page takes seconds) at
    <artifacts>/screenshots/<name>-<screen>.png: ``name`` is "<role>-<page>" ("operator-alerts"), the screen
    is the page's ("desktop", "phone"), so a test run on both screens keeps both. Returns the file's path."""
    if not SCREENSHOT_NAME.fullmatch(name):
        raise ValueError(f"screenshot name {name!r}: expected '<role>-<page>' in lowercase, e.g. 'operator-alerts'")
    path = artifacts_dir() / "screenshots" / f"{name}-{_records[page.context].screen}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=full_page)
    return path
