"""A contractor's EN 13508-2 exchange file sent from the console (docs/exchange.md): the form on the inspections
page posts the file (multipart, the one console form that is not urlencoded: a file is not a field), the
console hands its bytes to ``POST /v1/inspection-imports`` as the person, and shows what it became: the
inspections (to open and to compare with the drone's) and the warnings, in French."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.console.pages.missions import said
from services.console.web import FormRefused, api_failed, render, same_origin, signed_in

router = APIRouter()
MAX_FILE = 8 * 1024 * 1024  # the API's own bound (services/api/limits.py)
API_IMPORTS = "/v1/inspection-imports/"


@router.post("/imports")
async def import_file(request: Request) -> Response:
    person = await signed_in(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise FormRefused("un fichier est envoyé en multipart/form-data")
    if not same_origin(request):
        raise FormRefused("ce formulaire ne vient pas de cette page")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as exc:  # python-multipart's own refusals (a broken or oversized part)
        raise FormRefused("le formulaire est illisible") from exc
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, person.session.csrf):
        raise FormRefused("ce formulaire ne vient pas de cette page (jeton anti-falsification absent ou périmé)")
    upload = form.get("fichier")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise FormRefused("choisissez le fichier d'échange du prestataire")
    data = await upload.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise FormRefused("le fichier dépasse 8 Mio")
    answer = await person.api.post_file("/v1/inspection-imports", data, "application/octet-stream",
                                        {"filename": upload.filename[:255]})  # fmt: skip
    if answer.status == 409 and answer.headers.get("location", "").startswith(API_IMPORTS):
        seen = answer.headers["location"].removeprefix(API_IMPORTS)
        return api_failed(request, person, answer, back="/console/missions", heading="Fichier déjà importé",
                          message=f"Ce fichier (les mêmes octets) a déjà été importé : import n° {seen}.",
                          link=(f"/console/imports/{seen}", "Voir ce qu'il est devenu"))  # fmt: skip
    if not answer.ok:
        heading = "Fichier refusé" if answer.status == 422 else None
        return api_failed(request, person, answer, back="/console/missions", heading=heading)
    return render(request, person, "import.html", active="missions", imported=answer.json(), said=said, status=201)


@router.get("/imports/{import_id}")
async def show_import(request: Request, import_id: int) -> Response:
    """An imported file as the form's answer showed it: its inspections, their drone counterparts, its warnings."""
    person = await signed_in(request)
    answer = await person.api.get(f"/v1/inspection-imports/{import_id}")
    if not answer.ok:
        return api_failed(request, person, answer, back="/console/missions?source=import")
    return render(request, person, "import.html", active="missions", imported=answer.json(), said=said)
