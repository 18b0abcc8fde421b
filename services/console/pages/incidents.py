"""Dumping incidents: the list and its map, the detail with the privacy copies (the originals for police
only, as the API serves them), the agents' decisions and the police's legal hold."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from core.french import object_name
from services.console.drawings import MapPoint, point_map
from services.console.web import api_failed, back_to, posted_form, render, signed_in

router = APIRouter()
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
STATES = ("suspected", "confirmed", "dismissed", "cleared", "closed")
DECISIONS = {  # the console's verb -> the API's action and what is said once done (web.NOTICES)
    "confirmer": ("confirm", "confirme"),
    "ecarter": ("dismiss", "ecarte"),
    "enlever": ("clear", "enleve"),
    "clore": ("close", "clos"),
    "sceller": ("hold", "scelle"),
    "lever": ("release", "leve"),
}
MAP_STATE = {"suspected": "alerte", "confirmed": "alerte", "dismissed": "inconnu", "cleared": "ok", "closed": "ok"}
INCIDENT_STATES = {"alerte": "À traiter", "ok": "Enlevé ou clos", "inconnu": "Écarté"}


@router.get("/incidents")
async def incident_list(request: Request, etat: Literal["", *STATES] = "") -> Response:  # type: ignore[valid-type]
    person = await signed_in(request)
    answer = await person.api.get("/v1/incidents", {"state": etat or None, "limit": 200})
    if not answer.ok:
        return api_failed(request, person, answer)
    shapes = await person.api.get("/v1/incidents.geojson", {"state": etat or None})
    points = []
    for feature in shapes.json()["features"] if shapes.ok else []:
        lon, lat = feature["geometry"]["coordinates"][:2]
        props, number = feature["properties"], feature["id"]
        points.append(
            MapPoint(
                id=str(number), lat=lat, lon=lon, label=f"n° {number} {object_name(props['label'])}",
                state=MAP_STATE.get(props["state"], "inconnu"), href=f"/console/incidents/{number}",
            )
        )  # fmt: skip
    return render(
        request, person, "incidents.html", active="incidents", incidents=answer.json()["items"], etat=etat,
        states=STATES, map_svg=point_map("Dépôts sauvages sur la carte", points, names=INCIDENT_STATES),
    )  # fmt: skip


@router.get("/incidents/{incident_id}")
async def incident_detail(request: Request, incident_id: IncidentId) -> Response:
    person = await signed_in(request)
    answer = await person.api.get(f"/v1/incidents/{incident_id}")
    if not answer.ok:
        return api_failed(request, person, answer, back="/console/incidents")
    return render(
        request, person, "incident.html", active="incidents", incident=answer.json(),
        may_decide=person.may("POST", f"/v1/incidents/{incident_id}/confirm"),
        may_hold=person.may("POST", f"/v1/incidents/{incident_id}/hold"),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/{decision}")
async def decide(
    request: Request,
    incident_id: IncidentId,
    decision: Literal["confirmer", "ecarter", "enlever", "clore", "sceller", "lever"],
) -> Response:
    person, form = await posted_form(request)
    action, said = DECISIONS[decision]
    note = form.get("note", "").strip() or None
    answer = await person.api.post(f"/v1/incidents/{incident_id}/{action}", {"note": note})
    here = f"/console/incidents/{incident_id}"
    if not answer.ok:
        return api_failed(request, person, answer, back=here if answer.status in (409, 422) else "/console/incidents")
    return back_to(here, done=said)
