"""The live alert stream under a token holder's attacks, over real HTTP (uvicorn) against the real database:
a revoked or expired token's open stream ends before its next alert, a stream has a maximum life (the client
resumes with Last-Event-ID), streams are capped per token and per process (429) and a vanished client frees
its slot, and a new subscriber gets the open alerts first, then the changes."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from services.alerts.store import save_pack
from services.auth.roles import Role
from services.auth.tokens import create_token
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tests.integration.test_alerts import alerts_of, evaluate, frost_rule, readings

pytestmark = pytest.mark.integration


@pytest.fixture
def serve(stack) -> Iterator[Callable[..., str]]:
    """Start the API over real HTTP with the given settings overrides; returns its base URL."""
    from services.api.main import create_app

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides: Any) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        app = create_app(stack.model_copy(update=overrides))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1).close()
            except OSError:
                return False
            return True

        wait_for(up, what="the API to listen")
        return base

    yield start
    for server, thread in servers:
        server.should_exit = server.force_exit = True  # the streams left open end with it
        thread.join(15)


@pytest.fixture
def token(stack) -> Callable[..., tuple[str, int]]:
    """A real token (and its id) with the given roles, optionally expiring."""

    def issue(*roles: str, expires_in: timedelta | None = None) -> tuple[str, int]:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            issued = create_token(conn, "stream-test", [Role(r) for r in roles], expires_in)
        return issued.token, issued.id

    return issue


@pytest.fixture
def green_alert(stack, ingest, db, uid) -> int:
    """A firing frost alert of green_spaces, through the broker, ingest and the evaluator."""
    device = f"st{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    publish_all(stack, readings(device, (40, 0.5), (30, 0.4)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
    evaluate(stack)
    (alert,) = alerts_of(db, device)
    assert alert["state"] == "firing"
    return int(alert["id"])


def snapshot_device(db, alert_id: int) -> str:
    row = db.execute("SELECT device_id FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    return str(row["device_id"])


def newest_event(db) -> int:
    return count(db, "SELECT coalesce(max(id), 0) FROM alert_outbox")


class StreamReader:
    """A client reading the stream in a thread: every event (id, event, data) as it arrives."""

    def __init__(self, base: str, token: str, last_event_id: int | None = None, **params: Any) -> None:
        self.url, self.params = f"{base}/v1/alerts/stream", params
        self.headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = str(last_event_id)
        self.events: list[dict[str, str]] = []
        self.status: int | None = None
        self.opened, self.ended = threading.Event(), threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.opened.wait(15), "the stream did not answer"

    def _read(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(90)) as client,
                client.stream("GET", self.url, headers=self.headers, params=self.params) as response,
            ):
                self.status = response.status_code
                self.opened.set()
                current: dict[str, str] = {}
                for line in response.iter_lines():
                    if not line:
                        if "event" in current:
                            self.events.append(current)
                        current = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(":")
                        current[field] = value.removeprefix(" ")
        except httpx.TransportError:  # the server went away (the end of a test): the stream has ended
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]

    def data(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(e["data"]) for e in self.events if e["event"] == kind]


def act(base: str, admin: str, alert_id: int, assignee: str) -> None:
    """An alert change (one outbox event): the alert assigned to ``assignee``."""
    response = httpx.post(
        f"{base}/v1/alerts/{alert_id}/assign", json={"assignee": assignee}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert response.status_code == 200, response.text


def assignees(reader: StreamReader) -> list[str]:
    return [d["alert"]["assignee"] for d in reader.data("alert.assigned")]


def test_a_revoked_tokens_open_stream_ends_before_its_next_alert(serve, token, green_alert, db) -> None:
    base = serve()
    admin, _ = token("admin")
    green, green_id = token("green_spaces")
    reader = StreamReader(base, green, newest_event(db), max_seconds=60)
    act(base, admin, green_alert, "avant")
    wait_for(lambda: assignees(reader) == ["avant"], what="the change before the revocation")

    revoked = httpx.delete(f"{base}/v1/tokens/{green_id}", headers={"Authorization": f"Bearer {admin}"})
    assert revoked.status_code == 204
    act(base, admin, green_alert, "après")  # the next alert change of this service
    wait_for(reader.ended.is_set, what="the revoked token's stream to end")
    assert assignees(reader) == ["avant"]  # the change after the revocation never reached it
    assert reader.data("stream.end") == [{"reason": "token_revoked_or_expired"}]
    # and it cannot come back: the reconnection is refused
    again = httpx.get(f"{base}/v1/alerts/stream", headers={"Authorization": f"Bearer {green}"})
    assert again.status_code == 401


def test_an_idle_stream_ends_when_its_token_is_revoked_or_expires(serve, token, db, monkeypatch) -> None:
    import services.api.routes.alert_stream as stream

    monkeypatch.setattr(stream, "TOKEN_CHECK_S", 0.5)  # what an idle stream waits between checks (5 s deployed)
    base = serve()
    admin, _ = token("admin")
    revoked, revoked_id = token("sanitation")
    idle = StreamReader(base, revoked, newest_event(db), max_seconds=60)
    assert idle.status == 200
    httpx.delete(f"{base}/v1/tokens/{revoked_id}", headers={"Authorization": f"Bearer {admin}"})
    wait_for(idle.ended.is_set, what="the idle stream of a revoked token to end")
    assert idle.data("stream.end") == [{"reason": "token_revoked_or_expired"}]

    expiring, _ = token("cleanliness", expires_in=timedelta(seconds=2))
    short = StreamReader(base, expiring, newest_event(db), max_seconds=60)
    assert short.status == 200
    wait_for(short.ended.is_set, what="the stream of an expired token to end")
    assert short.data("stream.end") == [{"reason": "token_revoked_or_expired"}]


def test_a_stream_ends_at_its_maximum_life_and_resumes_with_last_event_id(serve, token, green_alert, db) -> None:
    base = serve(api_stream_max_seconds=2)
    admin, _ = token("admin")
    green, _ = token("green_spaces")
    start = newest_event(db)
    act(base, admin, green_alert, "un")
    # asking for longer than the deployment allows gets the deployment's maximum
    first = StreamReader(base, green, start, max_seconds=3600)
    wait_for(first.ended.is_set, what="the stream to end at its maximum life")
    assert assignees(first) == ["un"]
    assert first.data("stream.end") == [{"reason": "max_life"}]
    (delivered,) = [e for e in first.events if e["event"] == "alert.assigned"]

    act(base, admin, green_alert, "deux")
    resumed = StreamReader(base, green, int(delivered["id"]))  # no max_seconds: the maximum life still applies
    wait_for(resumed.ended.is_set, what="the resumed stream to end at its maximum life")
    assert assignees(resumed) == ["deux"]  # what it missed, nothing twice


def open_raw(base: str, token: str) -> tuple[int, bytes, socket.socket]:
    """A stream opened over a bare socket (status, what was read, the socket): closing the socket is a client
    that vanishes without a word."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=15)
    request = f"GET /v1/alerts/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
    sock.sendall(request.encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    status = int(received.split(b" ", 2)[1])
    if status != 200:
        while b"}" not in received:  # the JSON error body
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        sock.close()
    return status, received, sock


def test_streams_are_capped_per_token_and_in_total_and_a_vanished_client_frees_its_slot(serve, token) -> None:
    base = serve(api_streams_per_token=2, api_streams_total=3)
    a, _ = token("viewer")
    b, _ = token("sanitation")
    c, _ = token("green_spaces")
    open_streams = []
    for _ in range(2):
        status, _head, sock = open_raw(base, a)
        assert status == 200
        open_streams.append(sock)
    status, refused, _ = open_raw(base, a)
    assert status == 429 and b"streams" in refused and b"2" in refused
    status, _head, sock_b = open_raw(base, b)
    assert status == 200  # another token still may (3 in all)
    status, refused, _ = open_raw(base, c)
    assert status == 429 and b"this API process" in refused  # the process's total

    open_streams.pop().close()  # a client vanishes: its slot comes back

    def reopened() -> socket.socket | None:
        status, _head, sock = open_raw(base, a)
        return sock if status == 200 else None

    open_streams.append(wait_for(reopened, what="the vanished client's slot to be released"))
    status, _refused, _ = open_raw(base, a)
    assert status == 429  # and only that one slot
    for sock in [*open_streams, sock_b]:
        sock.close()


def test_a_new_subscriber_gets_the_open_alerts_first_then_the_changes(serve, token, green_alert, db) -> None:
    base = serve()
    admin, _ = token("admin")
    green, _ = token("green_spaces")
    reader = StreamReader(base, green, max_seconds=60)  # no Last-Event-ID: a new subscriber
    wait_for(lambda: "stream.synced" in reader.kinds(), what="the open alerts")
    synced_at = reader.kinds().index("stream.synced")
    assert set(reader.kinds()[:synced_at]) <= {"alert.open"}
    snapshot = [d["alert"] for d in reader.data("alert.open")]
    assert green_alert in [a["id"] for a in snapshot]
    assert {a["service"] for a in snapshot} == {"green_spaces"} and {a["state"] for a in snapshot} <= {
        "firing",
        "acknowledged",
    }
    (synced,) = [e for e in reader.events if e["event"] == "stream.synced"]
    assert int(synced["id"]) == newest_event(db)  # the position the changes follow from
    act(base, admin, green_alert, "ensuite")
    wait_for(lambda: assignees(reader) == ["ensuite"], what="the change after the open alerts")

    sanitation, _ = token("sanitation")
    other = StreamReader(base, sanitation, max_seconds=60)
    wait_for(lambda: "stream.synced" in other.kinds(), what="sanitation's open alerts")
    assert green_alert not in [d["alert"]["id"] for d in other.data("alert.open")]  # not its service's

    resumed = StreamReader(base, green, int(synced["id"]), max_events=1)  # a reconnection: no replay of the state
    wait_for(resumed.ended.is_set, what="the resumed stream")
    assert resumed.kinds() == ["alert.assigned"]

    silence = {"device_id": snapshot_device(db, green_alert), "service": "green_spaces", "comment": "travaux",
               "ends_at": "2999-01-01T00:00:00+00:00"}  # fmt: skip
    created = httpx.post(f"{base}/v1/silences", json=silence, headers={"Authorization": f"Bearer {admin}"})
    assert created.status_code == 201, created.text
    hushed = StreamReader(base, green, max_seconds=60)
    wait_for(lambda: "stream.synced" in hushed.kinds(), what="the open alerts under a silence")
    assert green_alert not in [d["alert"]["id"] for d in hushed.data("alert.open")]  # silenced: not delivered
    expired = httpx.post(
        f"{base}/v1/silences/{created.json()['id']}/expire", headers={"Authorization": f"Bearer {admin}"}
    )
    assert expired.status_code == 200

    closed = httpx.post(
        f"{base}/v1/alerts/{green_alert}/resolve", json={}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert closed.status_code == 200
    later = StreamReader(base, green, max_seconds=60)
    wait_for(lambda: "stream.synced" in later.kinds(), what="the open alerts again")
    assert green_alert not in [d["alert"]["id"] for d in later.data("alert.open")]  # resolved: not open


@pytest.mark.parametrize("value", [b"\xb2", b"-1", b"1e3", b"9" * 30, b"abc"])
def test_a_last_event_id_that_is_not_an_event_id_is_a_422_and_takes_no_slot(serve, token, value) -> None:
    base = serve(api_streams_per_token=1)
    viewer, _ = token("viewer")
    headers = {"Authorization": f"Bearer {viewer}", "Last-Event-ID": value}
    response = httpx.get(f"{base}/v1/alerts/stream", headers=headers)
    assert response.status_code == 422, response.text  # "²" is a digit to str.isdigit, not to int()
    status, _head, sock = open_raw(base, viewer)  # the refusal took no slot: the token's one is free
    assert status == 200
    sock.close()
