"""Pipe inspections: the missions, one mission's strip (its observations by distance and clock), each
observation with its frame, the reviewer's decision (confirm, reject, recode) and the report."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.console.drawings import StripMark, pipe_strip
from services.console.web import api_failed, back_to, posted_form, render, signed_in

router = APIRouter()
MissionId = Annotated[str, Path(min_length=1, max_length=200)]
ObservationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
STRIP_STATE = {"automatic": "automatique", "confirmed": "confirmée", "recoded": "confirmée", "rejected": "rejetée"}
DONE = {"confirm": "revue-confirm", "reject": "revue-reject", "recode": "revue-recode"}  # web.NOTICES


PAGE = 50
SOURCES = {"drone": "drone", "import": "prestataires"}
# what an import's warnings say (services/reports/importing.py), as the console says it
WARNINGS = {
    "unknown_node": "regard {value} ({field}) absent de la base des regards de la ville",
    "no_asset_base": "aucun regard n'est encore placé : les nœuds n'ont pas été vérifiés",
    "unknown_code": "code {value} hors des tables de la norme",
    "ungraded": "code {value} sans gravité dans la grille de la plateforme (non noté)",
    "no_pipe_reference": "inspection sans référence de tronçon (AAA) ni nœuds",
    "already_imported": "tronçon {value} déjà importé à la même date et heure",
    "more_warnings": "et {value} autres avertissements de mêmes sortes",
    "unknown_value": "{field}={value} : valeur hors de la liste de la norme (affichée telle quelle)",
}


def said(warning: dict[str, Any]) -> str:
    where = f"inspection {warning['inspection']} : " if warning.get("inspection") else ""
    return where + WARNINGS.get(warning["code"], "{value}").format(value=warning["value"], field=warning["field"])


@router.get("/missions")
async def mission_list(request: Request, source: str = "", page: int = 0) -> Response:
    """The inspections, drone and contractors', a page at a time; the imported files and what they warned."""
    person = await signed_in(request)
    source = source if source in SOURCES else ""
    page = max(0, min(page, 10_000))
    query: dict[str, Any] = {"limit": PAGE, "offset": page * PAGE} | ({"source": source} if source else {})
    answer = await person.api.get("/v1/missions", query)
    if not answer.ok:
        return api_failed(request, person, answer)
    imports: list[dict[str, Any]] = []
    if person.may("GET", "/v1/inspection-imports"):
        listed = await person.api.get("/v1/inspection-imports", {"limit": 20})
        imports = listed.json() if listed.ok else []
    missions = answer.json()["items"]
    return render(
        request, person, "missions.html", active="missions", missions=missions, source=source, sources=SOURCES,
        page=page, more=len(missions) == PAGE, imports=imports, said=said,
        may_import=person.may("POST", "/v1/inspection-imports"),
    )  # fmt: skip


def _mark(o: dict[str, Any]) -> StripMark:
    state = "suggérée" if o["state"] == "automatic" and o.get("trust") == "suggested" else STRIP_STATE.get(o["state"])
    return StripMark(
        chainage_m=o["chainage_start_m"],
        clock_from=o.get("recoded_clock_from") or o["clock_from"],
        clock_to=o.get("recoded_clock_to") or o["clock_to"],
        code=o.get("recoded_code") or o["code"],
        grade=o.get("recoded_grade") or o["grade"],
        state=state or "automatique",
        href=f"#obs-{o['id']}",
        finish_m=o.get("chainage_end_m"),
    )


@router.get("/missions/{mission_id}")
async def mission_detail(request: Request, mission_id: MissionId) -> Response:
    person = await signed_in(request)
    answer = await person.api.get(f"/v1/missions/{mission_id}")
    if not answer.ok:
        return api_failed(request, person, answer, back="/console/missions")
    mission = answer.json()
    found = await person.api.get(f"/v1/missions/{mission_id}/observations")
    if not found.ok:
        return api_failed(request, person, found, back="/console/missions")
    observations = found.json()
    shown = [o for o in observations if o["state"] != "withdrawn"]
    length = mission.get("distance_m") or mission.get("max_chainage_m") or 0.0
    strip = pipe_strip(f"Bande de la conduite {mission.get('pipe_id') or ''}", length, [_mark(o) for o in shown])
    others: list[dict[str, Any]] = []  # the pipe's other inspections (drone or contractor), to compare with
    if mission.get("pipe_id"):
        same_pipe = await person.api.get("/v1/missions", {"pipe_id": mission["pipe_id"], "limit": 50})
        if same_pipe.ok:
            others = [x for x in same_pipe.json()["items"] if x["mission_id"] != mission_id]
    return render(
        request, person, "mission.html", active="missions", mission=mission, observations=shown, strip=strip,
        may_review=person.may("POST", "/v1/observations/1/review"), others=others,
    )  # fmt: skip


@router.post("/observations/{observation_id}/revue")
async def review(request: Request, observation_id: ObservationId) -> Response:
    person, form = await posted_form(request)
    decision: Literal["confirm", "reject", "recode"] | str = form.get("decision", "")
    mission = form.get("mission", "")
    here = f"/console/missions/{quote(mission, safe='')}" if mission else "/console/missions"
    body: dict[str, Any] = {"decision": decision, "note": form.get("note", "").strip() or None}
    if decision == "recode":
        for field in ("code", "grade", "clock_from", "clock_to"):
            value = form.get(field, "").strip()
            if value:
                body[field] = int(value) if field != "code" and value.isascii() and value.isdigit() else value
    answer = await person.api.post(f"/v1/observations/{observation_id}/review", body)
    if not answer.ok:
        return api_failed(request, person, answer, back=here if answer.status in (409, 422) else "/console/missions")
    return back_to(here, done=DONE[str(decision)])
