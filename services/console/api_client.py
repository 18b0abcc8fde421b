"""The console's only way to the platform's data: the HTTP API itself, called inside the process.

A console page does not read the database or run a service: it calls the API's ``/v1`` routes through the
application's ASGI interface, as the signed-in person (the principal of their session, handed over in the
request's scope: services/auth/tokens.py, ``IN_PROCESS_PRINCIPAL``). The API's guard, access policy, family
narrowing, validation, time limits and audit log therefore apply to the console exactly as to a token
holder with ``curl``: the console cannot show what the token could not read, nor do what it could not do,
and every audited read or action it makes is in the audit log under the person's token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.types import Message

from services.auth.tokens import IN_PROCESS_PRINCIPAL, Principal

Params = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def detail(self) -> str:
        """The API's error message (its ``detail``), for the page to show (its first 300 characters)."""
        text = self._detail
        return text if len(text) <= 300 else text[:300] + "…"

    @property
    def _detail(self) -> str:
        try:
            detail = self.json().get("detail")
        except (ValueError, AttributeError):
            return self.body[:200].decode("utf-8", "replace")
        if isinstance(detail, list):  # a 422: the first refused input
            first = detail[0] if detail else {}
            return f"{'.'.join(str(p) for p in first.get('loc', []))}: {first.get('msg', '')}"
        return str(detail)

    @property
    def french(self) -> str | None:
        """The API's message in French, where the route gives one (``msg_fr`` of a 422's first error)."""
        try:
            detail = self.json().get("detail")
        except (ValueError, AttributeError):
            return None
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            french = detail[0].get("msg_fr")
            return french if isinstance(french, str) else None
        return None


def _query(params: Params) -> str:
    if params is None:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    return urlencode([(k, v) for k, v in items if v is not None and v != ""])


class Api:
    """Calls to the API as ``principal``, on behalf of the console request ``request``."""

    def __init__(self, request: Request, principal: Principal) -> None:
        self.request = request
        self.principal = principal

    def _scope(
        self,
        method: str,
        path: str,
        params: Params,
        body: bytes | None,
        extra: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        outer = self.request.scope
        agent = f"{self.request.headers.get('user-agent', '')} (console)".strip()
        headers = [(b"host", self.request.headers.get("host", "console").encode("latin-1", "replace"))]
        headers.append((b"user-agent", agent.encode("latin-1", "replace")))
        if body is not None:
            headers += [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in (extra or {}).items()]
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": outer.get("scheme", "http"),
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": _query(params).encode(),
            "headers": headers,
            "client": outer.get("client"),
            "server": outer.get("server"),
            "state": {},
            IN_PROCESS_PRINCIPAL: self.principal,
        }

    async def call(
        self,
        method: str,
        path: str,
        params: Params = None,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        """``body`` as JSON, or ``raw`` bytes of ``content_type`` (a file the API takes as it is)."""
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        scope = self._scope(method, path, params, raw, content_type=content_type)
        sent = False
        status, headers, chunks = 500, {}, []

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw or b"", "more_body": False}
            await asyncio.Event().wait()  # the inner call never sees its caller leave: it finishes
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.request.app(scope, receive, send)
        return Answer(status, headers, b"".join(chunks))

    async def get(self, path: str, params: Params = None) -> Answer:
        return await self.call("GET", path, params)

    async def post(self, path: str, body: Any = None, params: Params = None) -> Answer:
        return await self.call("POST", path, params, {} if body is None else body)

    async def post_file(self, path: str, data: bytes, content_type: str, params: Params = None) -> Answer:
        return await self.call("POST", path, params, raw=data, content_type=content_type)

    async def stream(
        self, path: str, params: Params = None, headers: dict[str, str] | None = None
    ) -> tuple[Answer, AsyncIterator[bytes]]:
        """A streamed GET (the alert stream): its status and headers, then its body as it comes. The inner
        call is told its client left when the returned iterator is closed."""
        scope = self._scope("GET", path, params, None, headers)
        started: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=64)
        left = asyncio.Event()
        first = True

        async def receive() -> Message:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b"", "more_body": False}
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                started.set_result(Answer(message["status"], headers, b""))
            elif message["type"] == "http.response.body":
                if left.is_set():
                    return
                await chunks.put(message.get("body", b""))
                if not message.get("more_body", False):
                    await chunks.put(None)

        async def run() -> None:
            try:
                await self.request.app(scope, receive, send)
            finally:
                if not started.done():
                    started.set_result(Answer(500, {}, b""))
                await chunks.put(None)

        task = asyncio.create_task(run())
        answer = await started
        if not answer.ok:  # an error is small: read it whole
            error = []
            while (chunk := await chunks.get()) is not None:
                error.append(chunk)
            await task
            return Answer(answer.status, answer.headers, b"".join(error)), _empty()

        async def body() -> AsyncIterator[bytes]:
            try:
                while (chunk := await chunks.get()) is not None:
                    yield chunk
            finally:
                left.set()
                while not chunks.empty():  # unblock a send waiting on a full queue
                    chunks.get_nowait()
                await asyncio.wait_for(task, timeout=10)

        return answer, body()


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator
