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
    imports,
    incidents,
    missions,
    signin,
)
from services.console.web import HERE, PAGE_MARK, FormRefused, SignInNeeded, render

# What a console page may load and where its forms may go: this console only. The SVG drawings are inline
# markup (no inline script or style), the one script is a file.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# What the API serves through the console (images, CSV, a report's HTML): shown, never run
FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


class ConsoleHeaders:
    """Security headers: on every answer, no MIME sniffing and no framing (the API's JSON, /docs included); on
    the console's, its content policy and no caching (pages, files, redirects). A file the API serves through
    the console (``/console/api/...``) is shown, never run; a console page there (its French error page) keeps
    the page policy (marked by ``PAGE_MARK``, which the browser never sees)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        console = path.startswith("/console")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != PAGE_MARK]
                names = {k.lower() for k, _ in headers}
                page = any(k.lower() == PAGE_MARK for k, _ in message.get("headers", []))
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
                if console:
                    policy = FILE_POLICY if path.startswith("/console/api/") and not page else PAGE_POLICY
                    extra += [(b"content-security-policy", policy.encode()), (b"referrer-policy", b"same-origin")]
                    if not path.startswith("/console/static/"):
                        extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


HTTP_ERRORS = {
    404: ("Page introuvable", "Cette page n'existe pas dans la console."),
    405: ("Action impossible", "Cette adresse ne s'utilise pas ainsi (un formulaire de la console l'envoie)."),
    413: ("Formulaire trop long", "Le formulaire envoyé est trop long : rien n'a été fait."),
    422: ("Adresse incorrecte", "Un élément de l'adresse ou du formulaire n'est pas accepté."),
}


def console_error(request: Request, status: int, detail: str | None = None) -> Response:
    """A console path's HTTP error (no such page, a bad id in the path, a wrong method) as a French page, not
    the API's JSON; the API's words stay below for the curious."""
    heading, message = HTTP_ERRORS.get(status, ("Erreur", "La demande n'a pas abouti."))
    return render(request, None, "erreur.html", status=status, heading=heading, message=message, detail=detail)


def mount_console(app: FastAPI) -> None:
    console = APIRouter(prefix="/console", include_in_schema=False)
    for module in (signin, home, alerts, incidents, missions, imports, devices, experiments, files):
        console.include_router(module.router)
    app.include_router(console)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

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
