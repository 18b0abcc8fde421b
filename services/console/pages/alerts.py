"""Alerts: the open ones first, live (the API's alert stream), and the day's actions on them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse

from services.console.web import api_failed, back_to, posted_form, render, signed_in

router = APIRouter()
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
STATES = {"ouvertes": "open", "resolues": "resolved", "toutes": None}
ACTIONS = {  # the console's verb -> the API's action, what the form sends, and what is said once done
    "acquitter": ("ack", "note", "prise-en-charge"),
    "assigner": ("assign", "assignee", "assignee"),
    "resoudre": ("resolve", "note", "resolue"),
}


@router.get("/alertes")
async def alert_list(request: Request, etat: Literal["ouvertes", "resolues", "toutes"] = "ouvertes") -> Response:
    person = await signed_in(request)
    answer = await person.api.get("/v1/alerts", {"state": STATES[etat], "limit": 200})
    if not answer.ok:
        return api_failed(request, person, answer)
    return render(
        request, person, "alertes.html", active="alertes", alerts=answer.json()["items"], etat=etat,
        may_act=person.may("POST", "/v1/alerts/1/ack"),
    )  # fmt: skip


@router.get("/alertes/flux")
async def alert_feed(request: Request) -> Response:
    """The API's live alert stream (SSE), relayed to the signed-in browser (an EventSource cannot send a
    bearer token; the session stands for it). Reconnection and Last-Event-ID work as on the API."""
    person = await signed_in(request)
    resume = request.headers.get("last-event-id")  # an EventSource reconnecting: the API resumes after it
    answer, body = await person.api.stream("/v1/alerts/stream", headers={"last-event-id": resume} if resume else None)
    if not answer.ok:
        return Response(answer.body, status_code=answer.status, media_type="application/json")
    headers = {k: v for k, v in answer.headers.items() if k in ("cache-control", "x-accel-buffering")}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


@router.get("/alertes/{alert_id}")
async def alert_detail(request: Request, alert_id: AlertId) -> Response:
    person = await signed_in(request)
    answer = await person.api.get(f"/v1/alerts/{alert_id}")
    if not answer.ok:
        return api_failed(request, person, answer, back="/console/alertes")
    return render(
        request, person, "alerte.html", active="alertes", alert=answer.json(),
        may_act=person.may("POST", f"/v1/alerts/{alert_id}/ack"),
    )  # fmt: skip


@router.post("/alertes/{alert_id}/{action}")
async def act_on_alert(
    request: Request, alert_id: AlertId, action: Literal["acquitter", "assigner", "resoudre"]
) -> Response:
    person, form = await posted_form(request)
    verb, field, said = ACTIONS[action]
    value = form.get(field, "").strip() or None
    answer = await person.api.post(f"/v1/alerts/{alert_id}/{verb}", {field: value})
    here = f"/console/alertes/{alert_id}"
    if not answer.ok:  # refused (403, 404) or not possible now (409, 422): said on a page of its own
        return api_failed(request, person, answer, back=here if answer.status in (409, 422) else "/console/alertes")
    return back_to(here, done=said)
