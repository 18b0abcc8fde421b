"""The console, mounted on the API's application under ``/console`` (docs/console.md).

Server-rendered French pages (Jinja2), one small script for the live alerts, no build chain and nothing loaded
from another host. Every page is made of calls to the API's ``/v1`` routes as the signed-in person
(services/console/api_client.py), so the access policy, the audit log and the API's checks hold for it.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console.pages import (
    alerts,
    devices,
    experiments,
    files,
    home,
    incidents,
    missions,
    signin,
)
from services.console.web import HERE, FormRefused, SignInNeeded, render

# What a console page may load and where its forms may go: this console only. The SVG drawings are inline
# markup (no inline script or style), the one script is a file.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# What the API serves through the console (images, CSV, a report's HTML): shown, never run
FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


class ConsoleHeaders:
    """Security headers on every console answer (pages, files, redirects)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/console"):
            await self.app(scope, receive, send)
            return
        policy = FILE_POLICY if path.startswith("/console/api/") else PAGE_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", policy.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not any(k.lower() == b"cache-control" for k, _ in headers) and not path.startswith(
                    "/console/static/"
                ):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def mount_console(app: FastAPI) -> None:
    console = APIRouter(prefix="/console", include_in_schema=False)
    for module in (signin, home, alerts, incidents, missions, devices, experiments, files):
        console.include_router(module.router)
    app.include_router(console)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_middleware(ConsoleHeaders)

    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, _exc: SignInNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = request.headers.get("referer", "/console/")
        return RedirectResponse(f"/console/connexion?suite={quote(target, safe='')}", status_code=303)

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, exc: FormRefused) -> Response:
        return render(
            request, None, "erreur.html", status=403, heading="Action refusée", message=f"Rien n'a été fait : {exc}."
        )
