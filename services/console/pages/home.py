"""The console's home page: who is signed in, and what waits for their service."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.web import render, signed_in

router = APIRouter()


@router.get("/")
async def home(request: Request) -> Response:
    person = await signed_in(request)
    open_alerts = await person.api.get("/v1/alerts", {"state": "open", "limit": 5})
    suspected = None
    if person.may("GET", "/v1/incidents"):
        answer = await person.api.get("/v1/incidents", {"state": "suspected", "limit": 5})
        suspected = answer.json()["items"] if answer.ok else None
    return render(
        request,
        person,
        "accueil.html",
        active=None,
        alerts=open_alerts.json()["items"] if open_alerts.ok else [],
        suspected=suspected,
    )
