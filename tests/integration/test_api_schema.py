"""schemathesis against the app's own OpenAPI schema, over real HTTP with a valid admin token:
no 5xx, every response matches its documented status, content type and schema."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.integration
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live_api(stack) -> Iterator[str]:
    from services.api.main import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(stack), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def admin_token(stack) -> str:
    import psycopg

    from services.auth.roles import Role
    from services.auth.tokens import create_token

    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        return create_token(conn, "schemathesis", [Role.ADMIN]).token


def test_api_matches_its_schema(live_api, admin_token) -> None:
    """Each operation with up to 20 generated requests (schemathesis' pytest plugin does not support
    pytest 9 yet, so its strategies are driven by Hypothesis directly)."""
    # the alert stream is endless unless asked for max_events: test_alerts.py reads it as a client does
    schema = (
        schemathesis.openapi.from_url(f"{live_api}/openapi.json")
        .exclude(method="DELETE")
        .exclude(path="/v1/alerts/stream")
    )
    headers = {"Authorization": f"Bearer {admin_token}"}
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
        tested.append(operation.label)
    assert len(tested) >= 20, tested
