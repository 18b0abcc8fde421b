"""What every console page shares: the signed-in person, the anti-forgery check, the French rendering.

A page handler asks for :func:`signed_in` (its session, and an :class:`~services.console.api_client.Api` that
calls the API as that person); a form handler for :func:`posted_form` (the same, after the form's
anti-forgery value and origin are checked). Pages are Jinja2 templates (autoescaped) with French filters.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from core.en13508 import MAIN_CODES
from core.french import SERVICE_NAMES, date_time, duration, material_name, number, object_name
from services.api.policy import match_request
from services.auth.roles import Role
from services.console.api_client import Answer, Api
from services.console.sessions import COOKIE, Session, current_session
from services.vision.codes import FRENCH
from services.vision.codes import french as code_name

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
MAX_FORM_BYTES = 16 * 1024  # the console's forms are a few fields: a note, a code, an assignee

ROLE_NAMES = {role: SERVICE_NAMES[role.value] for role in Role}

# who did it, when a worker did: said as staff would
ACTORS = {"rule": "règle automatique", "evaluator": "évaluateur d'alertes", "retention": "rétention"}

# The console's sections, each shown to the roles the API lets call the route it is made of
SECTIONS = (
    ("alertes", "Alertes", "GET", "/v1/alerts"),
    ("incidents", "Dépôts sauvages", "GET", "/v1/incidents"),
    ("missions", "Inspections", "GET", "/v1/missions"),
    ("appareils", "Appareils", "GET", "/v1/devices"),
    ("experiences", "Expérimentations", "GET", "/v1/experiments"),
)


class SignInNeeded(Exception):
    """No valid session: the page answers with the sign-in page (a redirect for a GET)."""


class FormRefused(Exception):
    """A POST whose anti-forgery value or origin is wrong: 403, nothing done."""


@dataclass(frozen=True)
class SignedIn:
    session: Session
    api: Api

    @property
    def roles(self) -> frozenset[Role]:
        return self.session.principal.roles

    def may(self, method: str, path: str) -> bool:
        """Whether the API's policy lets this person call ``method path`` (the family narrowing aside,
        which the API applies when the call is made)."""
        _template, policy = match_request(method, path)
        return bool(self.roles & policy.roles)


async def signed_in(request: Request) -> SignedIn:
    settings = request.app.state.settings
    cookie = request.cookies.get(COOKIE)

    def check() -> Session | None:
        with request.app.state.pool.connection() as conn:
            return current_session(conn, settings, cookie)

    session = await run_in_threadpool(check) if cookie else None
    if session is None:
        raise SignInNeeded
    return SignedIn(session, Api(request, session.principal))


def same_origin(request: Request) -> bool:
    """The browser says where a form came from (Origin and Sec-Fetch-Site): both, when sent, must say this
    console."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or (origin != "null" and urlsplit(origin).netloc == request.headers.get("host"))


async def read_form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise FormRefused("un formulaire de la console est envoyé en application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused("le formulaire est trop long")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRefused("le formulaire est illisible") from exc


async def posted_form(request: Request) -> tuple[SignedIn, dict[str, str]]:
    """The signed-in person and their form, once its anti-forgery value and its origin are checked."""
    person = await signed_in(request)
    form = await read_form(request)
    if not same_origin(request) or not hmac.compare_digest(form.get("csrf", ""), person.session.csrf):
        raise FormRefused("ce formulaire ne vient pas de cette page (jeton anti-falsification absent ou périmé)")
    return person, form


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site (``//evil``, ``/\\evil``) nor another
    part of this one (``/console/../docs``)."""
    if target and target.startswith("/console") and not target.startswith("/console/connexion"):
        parts = urlsplit(target)
        segments = parts.path.split("/")
        if not parts.scheme and not parts.netloc and "\\" not in target and not {".", ".."} & set(segments):
            return target
    return "/console/"


def console_url(api_path: str | None) -> str | None:
    """An API URL the API returned (``/v1/…``), as the console serves it to the signed-in browser."""
    if not api_path or not api_path.startswith("/v1/"):
        return None
    return f"/console/api{api_path}"


# What a page says once a form did its work: chosen by the server from a code in the URL (free text there would
# let any link put words, a phishing "call this number", in the console's own notice box)
NOTICES = {
    "prise-en-charge": "Alerte prise en charge.",
    "assignee": "Alerte assignée.",
    "resolue": "Alerte résolue.",
    "confirme": "Dépôt confirmé.",
    "ecarte": "Dépôt écarté.",
    "enleve": "Dépôt noté comme enlevé.",
    "clos": "Incident clos.",
    "scelle": "Scellé posé : les preuves sont conservées au-delà de la durée de rétention.",
    "leve": "Scellé levé : les preuves suivent à nouveau la rétention.",
    "revue-confirm": "Observation confirmée.",
    "revue-reject": "Observation rejetée.",
    "revue-recode": "Observation recodée.",
}


def back_to(path: str, done: str) -> RedirectResponse:
    """The page after a form that did its work (POST, redirect, GET), saying so by one of ``NOTICES``."""
    if done not in NOTICES:
        raise KeyError(done)
    return RedirectResponse(f"{path}?fait={quote(done)}", status_code=303)


def render(request: Request, person: SignedIn | None, template: str, status: int = 200, **context: Any) -> Response:
    sections = [s for s in SECTIONS if person and person.may(s[2], s[3])]
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {
            "person": person,
            "role_names": ROLE_NAMES,
            "sections": sections,
            "csrf": person.session.csrf if person else None,
            "done": NOTICES.get(request.query_params.get("fait", "")),
            **context,
        },
        status_code=status,
    )
    response.headers[PAGE_MARK.decode()] = "1"
    return response


ANSWERS = {
    403: ("Accès refusé", "Votre rôle ne donne pas accès à ceci."),
    404: ("Introuvable", "Ceci n'existe pas, ou n'est pas du ressort de votre service."),
    409: ("Action impossible", "L'état actuel ne le permet pas."),
    422: ("Demande incorrecte", "Un paramètre de la demande n'est pas accepté."),
    429: ("Trop de demandes", "Réessayez dans un instant."),
    503: ("Service indisponible", "La base de données ne répond pas ; réessayez dans un instant."),
}


def api_failed(
    request: Request,
    person: SignedIn,
    answer: Answer,
    back: str = "/console/",
    heading: str | None = None,
    message: str | None = None,
    link: tuple[str, str] | None = None,
) -> Response:
    """The page for an API call that failed: its status (never a 500 for the API's 4xx), in French (the API's
    own French message where it gives one, ``msg_fr``), with the API's message for the curious; ``link``
    (address, text) leads on from there."""
    default_heading, default_message = ANSWERS.get(answer.status, ("Erreur", "La demande n'a pas abouti."))
    status = answer.status if 400 <= answer.status < 600 else 502
    french = answer.french
    if message is None:
        message = f"{french[0].upper()}{french[1:]}." if french else default_message
    return render(
        request, person, "erreur.html", status=status, heading=heading or default_heading, message=message,
        detail=answer.detail, back=back, link=link,
    )  # fmt: skip


PAGE_MARK = b"x-tlab-console-page"  # a console page, whatever its path (removed before the browser sees it)


# Jinja filters: French numbers, Paris dates, durations


def _when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    return date_time(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _num(value: float | int | None, digits: int = 2) -> str:
    return "—" if value is None else number(float(value), digits)


def _seconds(value: float | None) -> str:
    return "—" if value is None else duration(timedelta(seconds=value))


templates.env.filters.update(when=_when, num=_num, seconds=_seconds, console_url=console_url)
templates.env.globals.update(
    material_name=material_name,
    actor_name=lambda a: ACTORS.get(a, a),
    service_name=lambda s: ROLE_NAMES.get(s, s),
    object_name=object_name,
    code_name=code_name,
    codes=sorted(FRENCH.items()),
    # a mission's status (the API's, services/api: running, completed, aborted, failed, interrupted) as staff say it
    mission_statuses={
        "running": "en cours",
        "completed": "terminée",
        "aborted": "abandonnée",
        "failed": "en échec",
        "interrupted": "interrompue",
    },  # fmt: skip
    other_codes=sorted((c, names[1]) for c, names in MAIN_CODES.items() if c not in FRENCH),
)
