"""The API under a hostile client (issue 19): what a caller without a token, or a token holder of any role,
can send must end in a clear 4xx (or a 503 for a query that ran too long), never a 500, never an
unbounded read, and never a wedged connection pool.

The body tests talk to a real uvicorn over TCP with a hand-made client that counts the bytes it managed to
send: what the server never read, the client could not send (beyond the kernel's socket buffers)."""

from __future__ import annotations

import hashlib
import json
import re
import select
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import uvicorn
from fastapi.testclient import TestClient

from core.media_store import MediaStore
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
HUGE = 64 * MiB  # what a hostile client offers; before the fix the server read all of it
READ_BOUND = 16 * MiB  # loopback socket buffers hold a few MiB: anything under this was never read whole


# ---- a real server and a client that counts what it could send --------------------------------------------
@pytest.fixture
def served(stack) -> Iterator[int]:
    from services.api.main import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(stack), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")
    yield port
    server.should_exit = True
    thread.join(15)
    sock.close()


def offer_body(
    port: int, path: str, total: int, *, token: str | None = None, chunked: bool = False, method: str = "POST"
) -> tuple[int, dict[str, Any] | str, int]:
    """Send ``total`` bytes of body to ``path`` as fast as the server takes them, stopping as soon as it
    answers (or stops reading for 5 s). Returns (status, JSON body or text, body bytes sent)."""
    head = [f"{method} {path} HTTP/1.1", "Host: test", "Content-Type: application/json"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    if token:
        head.append(f"Authorization: Bearer {token}")
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    conn.setblocking(False)
    piece = b" " * (64 * 1024)
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    sent, pending = 0, b""
    while sent < total:
        readable, writable, _ = select.select([conn], [conn], [], 5)
        if readable or not writable:
            break  # the server answered, or stopped reading
        try:
            pending = pending or frame
            n = conn.send(pending)
        except (BrokenPipeError, ConnectionResetError):
            break
        pending = pending[n:]
        if not pending:
            sent += len(piece)
    conn.setblocking(True)
    response = b""
    try:
        while b"\r\n\r\n" not in response or not _complete(response):
            data = conn.recv(65536)
            if not data:
                break
            response += data
    except (ConnectionResetError, TimeoutError):
        pass
    conn.close()
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), response[:200]
    _headers, _, body = rest.partition(b"\r\n\r\n")
    try:
        parsed: dict[str, Any] | str = json.loads(body)
    except ValueError:
        parsed = body.decode(errors="replace")
    return int(status_line.split()[1]), parsed, sent


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("credential", ["none", "invalid", "wrong-role"])
def test_a_huge_body_without_a_valid_credential_is_refused_before_it_is_read(
    served, issue_token, chunked, credential
) -> None:
    token = {"none": None, "invalid": "tlab_nope_" + "x" * 43, "wrong-role": issue_token("viewer")}[credential]
    status, body, sent = offer_body(served, "/v1/tokens", HUGE, token=token, chunked=chunked)
    assert status == (403 if credential == "wrong-role" else 401), body
    assert isinstance(body, dict) and body["detail"], body
    assert sent < READ_BOUND, f"the server read {sent} bytes of a body it refused"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_with_a_token_is_a_413_before_it_is_read(served, issue_token, chunked) -> None:
    status, body, sent = offer_body(served, "/v1/silences", HUGE, token=issue_token("operator"), chunked=chunked)
    assert status == 413, body
    assert isinstance(body, dict) and "bytes" in body["detail"], body
    assert sent < READ_BOUND, f"the server read {sent} bytes of a body over its limit"


def _body_routes(app) -> dict[tuple[str, str], Any]:
    found = {}
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op:
                found[(method.upper(), path)] = op
    return found


def test_every_route_that_takes_a_body_declares_its_limit_and_keeps_to_it(api, issue_token) -> None:
    from services.api.limits import BODY_LIMITS, DEFAULT_BODY_LIMIT
    from services.auth.roles import Role

    every_role = {
        "Authorization": f"Bearer {issue_token(*(r.value for r in Role))}",
        "Content-Type": "application/json",
    }

    routes = _body_routes(api.app)
    assert set(routes) - set(BODY_LIMITS) == set(), "declare these routes' body limits in services/api/limits.py"
    api_limits = {k for k in BODY_LIMITS if not k[1].startswith("/console/")}  # the console's are no API route
    assert api_limits - set(routes) == set(), "these body limits name routes that take no body"
    assert DEFAULT_BODY_LIMIT <= 4096
    for (method, template), limit in BODY_LIMITS.items():
        path = template.replace("{", "").replace("}", "")  # any id: the limit comes before the route runs
        over = b"[" + b" " * limit + b"]"
        response = api.request(method, path, content=over, headers=every_role)
        assert response.status_code == 413, (method, template, response.text)
        assert f"{limit} bytes" in response.json()["detail"]
    # a route without a body takes none beyond the default either
    response = api.request("GET", "/v1/devices", content=b" " * (DEFAULT_BODY_LIMIT + 1))
    assert response.status_code == 413, response.text


def test_a_body_within_its_limit_still_works(api, uid) -> None:
    response = api.post("/v1/devices", json={"device_id": f"lim{uid}", "family": "ptipot"})
    assert response.status_code == 201, response.text


# ---- item 10: a report's file name in any script -------------------------------------------------------
def test_a_report_of_a_pipe_with_any_name_downloads(api, db, uid) -> None:
    mission = f"m-{uid}"
    pipe = 'Œuvre-€ "nord"\\é/é'
    db.execute(
        "INSERT INTO missions (mission_id, device_id, pipe_id, started_at) VALUES (%s, %s, %s, now())",
        (mission, f"drone{uid}", pipe),
    )
    for fmt in ("csv", "pdf"):
        response = api.get(f"/v1/missions/{mission}/report", params={"format": fmt})
        assert response.status_code == 200, response.text
        header = response.headers["content-disposition"]
        header.encode("ascii")  # RFC 6266: the header itself is ASCII
        assert header.startswith("attachment; ")
        utf8 = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
        assert utf8 and unquote(utf8.group(1)) == f"inspection-{pipe}.{fmt}".replace("/", "_").replace("\\", "_")
        plain = re.search(r'filename="([^"\\]*)"', header)
        assert plain and plain.group(1).isascii() and plain.group(1).endswith(f".{fmt}"), header
        assert plain.group(1).startswith("inspection-")


# ---- item 11: bounded spans, pages and statement time ---------------------------------------------------
@pytest.fixture
def known_garden(api, db, uid) -> str:
    device = f"hs{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'ptipot')", (device,))
    db.execute(
        "INSERT INTO garden_readings (time, device_id, soil_vwc_pct) "
        "SELECT '2026-11-28T10:00:00Z'::timestamptz + m * interval '1 minute', %s, m FROM generate_series(0, 9) m",
        (device,),
    )
    return device


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": "2025-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "at most 31 days"),
        ({"start": "2020-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z", "bucket": "1d"}, "at most 366 days"),
        ({"start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z", "offset": 10_001}, "less than or equal"),
    ],
)
def test_readings_refuse_unbounded_spans_and_deep_offsets(api, known_garden, params, words) -> None:
    response = api.get(f"/v1/devices/{known_garden}/readings", params={"metric": "soil_vwc_pct", **params})
    assert response.status_code == 422, response.text
    assert words in response.text


def test_a_query_that_runs_too_long_is_a_503_and_frees_its_connection(stack, issue_token, monkeypatch) -> None:
    import psycopg

    from services.api import limits
    from services.api.main import create_app

    monkeypatch.setitem(limits.STATEMENT_TIMEOUT_S, "default", 0.5)
    with TestClient(create_app(stack), headers={"Authorization": f"Bearer {issue_token('viewer')}"}) as client:
        pool = client.app.state.pool
        with psycopg.connect(stack.database_url) as locker:  # a transaction that holds the table
            locker.execute("LOCK TABLE devices IN ACCESS EXCLUSIVE MODE")
            answers: list[Any] = []
            for _ in range(pool.max_size + 2):  # more calls than the pool has connections
                worker = threading.Thread(target=lambda: answers.append(client.get("/v1/devices")), daemon=True)
                worker.start()
                worker.join(20)
                assert not worker.is_alive(), "a list query waited without end"
            locker.rollback()
        assert {r.status_code for r in answers} == {503}, [r.text for r in answers]
        assert "longer than" in answers[0].json()["detail"]
        assert client.get("/v1/devices").status_code == 200  # the pool still has its connections
        stats = pool.get_stats()
        assert stats.get("connections_lost", 0) == 0


# ---- item 13 -----------------------------------------------------------------------------------------------
LONE = "\ud800"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/devices", {"device_id": LONE, "family": "ptipot"}),
        ("POST", "/v1/devices", {"device_id": "ok-device", "family": "ptipot", "description": LONE}),
        ("POST", "/v1/devices", {"device_id": "ok-device", "family": "ptipot", "labels": {LONE: "x"}}),
        ("POST", "/v1/tokens", {"name": LONE, "roles": ["viewer"]}),
        ("POST", "/v1/tokens", {"name": "x", "roles": [LONE]}),
        ("POST", "/v1/silences", {"comment": LONE, "device_id": "x", "ends_at": "2099-01-01T00:00:00Z"}),
        ("POST", "/v1/silences", {"comment": "x", "device_id": LONE, "ends_at": LONE}),
        ("PUT", "/v1/devices/some-device/labels", {"labels": {LONE: LONE}}),
        ("PUT", "/v1/devices/some-device/labels", {LONE: 1}),
    ],
)
def test_a_lone_surrogate_in_a_body_is_a_422_that_can_be_read(api, method, path, body) -> None:
    response = api.request(method, path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    response.content.decode("utf-8")  # strict: the body is valid UTF-8
    assert response.json()["detail"]


def test_a_refusal_with_a_nul_in_its_path_is_audited(api, db) -> None:
    marker = uuid.uuid4().hex[:8]
    response = api.get(f"/v1/dead-letters/{marker}%00x")
    assert response.status_code == 422, response.text
    rows = db.execute("SELECT path, status FROM audit_log WHERE path LIKE %s", (f"%{marker}%",)).fetchall()
    assert rows == [{"path": f"/v1/dead-letters/{marker}\\x00x", "status": 422}]


def test_a_cursor_of_another_list_is_a_422(api, db, known_garden, uid) -> None:
    window = {"metric": "soil_vwc_pct", "start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z", "limit": 2}
    readings = api.get(f"/v1/devices/{known_garden}/readings", params=window).json()
    cursor = readings["next_cursor"]
    assert cursor
    mission = f"cm-{uid}"
    db.execute("INSERT INTO missions (mission_id, device_id, started_at) VALUES (%s, %s, now())", (mission, uid))
    for path in (f"/v1/missions/{mission}/frames", f"/v1/missions/{mission}/telemetry"):
        response = api.get(path, params={"cursor": cursor})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    bucketed = api.get(f"/v1/devices/{known_garden}/readings", params={**window, "bucket": "1m", "cursor": cursor})
    assert bucketed.status_code == 422, bucketed.text  # same path, another list
    # and the cursor still works where it came from, whatever the page size
    again = api.get(f"/v1/devices/{known_garden}/readings", params={**window, "limit": 3, "cursor": cursor})
    assert again.status_code == 200 and [r["value"] for r in again.json()["items"]] == [2.0, 3.0, 4.0]
    alerts = api.get("/v1/alerts", params={"cursor": cursor})
    assert alerts.status_code == 422, alerts.text


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/v1/alerts", {"start": "2026-11-28T00:00:00"}, "start"),
        ("/v1/alerts", {"end": "2026-11-28T00:00:00"}, "end"),
        ("/v1/alerts", {"start": "2026-11-29T00:00:00Z", "end": "2026-11-28T00:00:00Z"}, "start"),
        ("/v1/incidents", {"since": "2026-11-28T00:00:00"}, "since"),
    ],
)
def test_alert_and_incident_lists_refuse_zoneless_and_inverted_times(api, path, params, name) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", name]


def test_personal_images_are_never_cached_past_their_retention(api, db, stack, uid) -> None:
    data = f"privacy copy {uid}".encode()
    sha = hashlib.sha256(data).hexdigest()
    MediaStore(stack.media_path).put(sha, data)
    db.execute(
        "INSERT INTO media (sha256, content_type, size_bytes, family, device_id, personal) "
        "VALUES (%s, 'image/png', %s, 'karroad', %s, false)",
        (sha, len(data), f"cam{uid}"),
    )
    response = api.get(f"/v1/media/{sha}")
    assert response.status_code == 200, response.text
    cache = response.headers["cache-control"]
    assert "no-store" in cache and "immutable" not in cache and "public" not in cache


def test_other_media_are_cached_privately_and_not_for_ever(api, db, stack, uid) -> None:
    data = f"a drone frame {uid}".encode()
    sha = hashlib.sha256(data).hexdigest()
    MediaStore(stack.media_path).put(sha, data)
    db.execute(
        "INSERT INTO media (sha256, content_type, size_bytes, family, device_id) VALUES (%s, 'image/jpeg', %s, "
        "'bathy', %s)",
        (sha, len(data), f"drone{uid}"),
    )
    cache = api.get(f"/v1/media/{sha}").headers["cache-control"]
    assert cache.startswith("private") and "immutable" not in cache
    max_age = int(cache.split("max-age=")[1].split(",")[0])
    assert max_age <= timedelta(days=1).total_seconds()


# ---- a misspelt filter is refused, never ignored --------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "wrong", "right"),
    [
        ("/v1/incidents", "camera", "device_id"),
        ("/v1/alerts", "device", "device_id"),
        ("/v1/camera-events", "bogus", "device_id"),
        ("/v1/missions", "pipe", "limit"),
    ],
)
def test_an_unknown_query_parameter_is_a_422_naming_those_the_route_takes(api, path, wrong, right) -> None:
    """Before: `?camera=nobody` answered 200 with every incident, which a client takes for the filtered list."""
    refused = api.get(path, params={wrong: "nobody"})
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["query", wrong] and right in error["msg"]
    assert api.get(path, params={"limit": 1}).status_code == 200  # what it does take still works
