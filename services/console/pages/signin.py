"""Sign-in and sign-out. The sign-in form is protected against login forgery by a value kept in a short-lived
cookie and repeated in the form (double submit), and by the origin check every console form has."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.french import duration
from services.console.sessions import COOKIE, end_session, open_session
from services.console.web import FormRefused, posted_form, read_form, render, safe_next, same_origin

router = APIRouter()
SIGNIN_COOKIE = "tlab_console_signin"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _form(request: Request, suite: str, refused: str | None = None, status: int = 200) -> Response:
    settings = request.app.state.settings
    value = secrets.token_urlsafe(32)
    response = render(
        request,
        None,
        "connexion.html",
        status=status,
        signin_csrf=value,
        suite=safe_next(suite),
        refused=refused,
        idle=duration(timedelta(minutes=settings.console_idle_minutes)),
        life=duration(timedelta(hours=settings.console_session_hours)),
    )
    response.set_cookie(
        SIGNIN_COOKIE, value, max_age=1800, path="/console/connexion", httponly=True, samesite="strict",
        secure=_secure(request),
    )  # fmt: skip
    return response


@router.get("/connexion")
async def signin_page(request: Request, suite: str = "/console/") -> Response:
    return _form(request, suite)


@router.post("/connexion")
async def signin(request: Request) -> Response:
    form = await read_form(request)
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not same_origin(request) or not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
        raise FormRefused("ce formulaire de connexion ne vient pas de cette page : rechargez-la")
    token = form.get("jeton", "")
    settings = request.app.state.settings

    def sign_in() -> tuple[str, object] | None:
        with request.app.state.pool.connection() as conn:
            return open_session(conn, settings, token, request.headers.get("user-agent"))

    opened = await run_in_threadpool(sign_in) if 0 < len(token) <= 100 else None
    if opened is None:
        refused = "Ce jeton n'est pas valide, a expiré ou a été révoqué."
        return _form(request, form.get("suite", ""), refused=refused, status=401)
    session_id, _principal = opened
    response = RedirectResponse(safe_next(form.get("suite")), status_code=303)
    response.set_cookie(
        COOKIE, session_id, max_age=int(settings.console_session_hours * 3600), path="/console", httponly=True,
        samesite="strict", secure=_secure(request),
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/console/connexion")
    return response


@router.post("/deconnexion")
async def signout(request: Request) -> Response:
    _person, _form_fields = await posted_form(request)
    cookie = request.cookies.get(COOKIE)

    def sign_out() -> None:
        with request.app.state.pool.connection() as conn:
            end_session(conn, cookie)

    await run_in_threadpool(sign_out)
    response = RedirectResponse("/console/connexion", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
