"""Shared fixtures. Integration tests run against the project's real Mosquitto and PostgreSQL+TimescaleDB,
started by the test session itself on its own ports and state folder (never the run command's, never
the system's), with a fresh database each session. Each test uses its own device ids (``uid``), so
tests never see each other's data.
"""

from __future__ import annotations

import os

# The suite runs with throwaway families mounted by their one registration (tests/fixtures/families/): beehive
# scales (readings) and vigie street cameras (a second camera vendor: camera detections, personal images).
# Every list the platform derives from the registry (subscriptions, storage, migrations, the reader policy,
# simulators, golden cases) and every service that selects on a capability must take them, in this process
# and in those the tests start.
os.environ.setdefault("TLAB_EXTRA_FAMILIES", "tests.fixtures.families.beehive,tests.fixtures.families.vigie")
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from core.settings import Settings, default_state_root

# `./lab test` runs the suite in two processes (pytest-xdist, a file at a time in each): each has its own stack,
# on its own ports and state folder (worker gw1: ports + 100, state folder test-gw1), so neither sees the other's
# devices, messages or rows
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
PORT_OFFSET = 100 * WORKER
_STATE = Path(os.environ.get("TLAB_TEST_STATE_DIR", default_state_root() / "test"))
TEST_STATE = _STATE.with_name(f"{_STATE.name}-gw{WORKER}") if WORKER else _STATE


def test_port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, str(default))) + PORT_OFFSET


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        state_dir=TEST_STATE,
        mqtt_port=test_port("TLAB_TEST_MQTT_PORT", 18831),
        mqtt_tls_port=test_port("TLAB_TEST_MQTT_TLS_PORT", 18832),
        mqtt_service_port=test_port("TLAB_TEST_MQTT_SERVICE_PORT", 18833),
        pg_port=test_port("TLAB_TEST_PG_PORT", 15433),
        pg_database="tlab_test",
        media_root=tmp_path_factory.mktemp("media"),
        ingest_client_id=f"tlab-test-ingest-{uuid.uuid4().hex[:8]}",
        ingest_batch_ms=20,
        ingest_metrics_port=0,  # tests that read metrics give their worker a free port
        **{f"{w}_metrics_port": 0 for w in ("alerts", "deliveries", "vision", "incidents", "evidence")},
        broker_credentials_metrics_port=0,
    )


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Settings]:
    """A fresh stack for the session: broker persistence and database start empty."""
    from core.broker_credentials import BrokerCredentialsOwner
    from core.migrate import migrate
    from deploy.local_stack import LocalStack
    from tests.integration.helpers import INJECTOR_USER, injector_secret_file

    local = LocalStack(settings)
    local.reset()
    injector_secret = local.add_service_account(INJECTOR_USER, ["topic write #"])
    local.up()
    injector_secret_file(settings).write_text(injector_secret)
    local.ensure_database(settings.pg_database, fresh=True)
    migrate(settings)
    # the broker files' one owner, as `./lab run` runs it: registry changes reach the broker through it
    owner = BrokerCredentialsOwner(settings, poll_s=0.1)
    stop = threading.Event()
    owning = threading.Thread(target=owner.run, args=(stop,), name="broker-credentials", daemon=True)
    owning.start()
    if not owner.owning.wait(20):
        raise RuntimeError("the broker credentials' owner did not start")
    yield settings
    stop.set()
    owning.join(10)
    local.down()


@pytest.fixture
def uid() -> str:
    """A short unique suffix for this test's device ids."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def db(stack: Settings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


class RunningWorker:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        from ingest.worker import IngestWorker

        self.worker = IngestWorker(settings.model_copy(update=overrides))
        self.thread = threading.Thread(target=self.worker.run, name="ingest", daemon=True)

    def start(self) -> RunningWorker:
        self.thread.start()
        if not self.worker.consumer.connected.wait(10):
            raise RuntimeError("ingest worker did not connect")
        if not self.worker.consumer.subscribed.wait(10):  # the SUBACK: from now on it gets its share
            raise RuntimeError("ingest worker did not subscribe")
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "worker did not stop"


@pytest.fixture
def ingest(stack: Settings) -> Iterator[RunningWorker]:
    """A running ingest worker (in a thread of the test process) with this session's client id."""
    running = RunningWorker(stack).start()
    yield running
    running.stop()


@pytest.fixture
def issue_token(stack: Settings) -> Callable[..., str]:
    """Issue a real API token with the given roles (stored hashed in the test database)."""
    from services.auth.roles import Role
    from services.auth.tokens import create_token

    def issue(*roles: str, name: str = "test") -> str:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            return create_token(conn, name, [Role(r) for r in roles]).token

    return issue


@pytest.fixture
def api(stack: Settings, issue_token: Callable[..., str]) -> Iterator[TestClient]:
    """The app over ASGI, authenticated as an admin (tests of roles pass their own headers)."""
    from services.api.main import create_app

    with TestClient(create_app(stack), headers={"Authorization": f"Bearer {issue_token('admin')}"}) as client:
        yield client


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {value!r})")


def count(conn: psycopg.Connection[Any], sql: str, *params: Any) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(next(iter(row.values())))
