"""Experiments: the list, and one experiment's KPIs over its period against its baseline, drawn (server-side
SVG, one chart per unit) and downloadable as French CSV."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.console.drawings import Bar, bar_chart
from services.console.web import api_failed, render, signed_in

router = APIRouter()
ExperimentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PILOTS = {
    "pipe_inspection": "inspection de canalisations",
    "camera_detections": "caméras de dépôts sauvages",
    "readings": "capteurs (mesures)",
}


@router.get("/experiences")
async def experiment_list(request: Request) -> Response:
    person = await signed_in(request)
    answer = await person.api.get("/v1/experiments")
    if not answer.ok:
        return api_failed(request, person, answer)
    return render(request, person, "experiences.html", active="experiences", experiments=answer.json(), pilots=PILOTS)


CAPTIONS = {  # a KPI unit, as a chart's heading says it
    "": "Indicateurs en nombre", "%": "Indicateurs en pourcentage", "h": "Indicateurs en heures",
    "min": "Indicateurs en minutes", "/jour": "Indicateurs par jour", "/site/semaine": "Par site et par semaine",
    "/100 m": "Pour 100 mètres inspectés", "m": "Indicateurs en mètres", "m³": "Volumes (m³)",
}  # fmt: skip


def charts(kpis: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """One horizontal bar chart per unit (counts, %, per day…): a KPI's period beside its baseline."""
    by_unit: dict[str, list[Bar]] = defaultdict(list)
    for kpi in kpis:
        by_unit[kpi["unit"]].append(Bar(label=kpi["label"], value=kpi["value"], baseline=kpi["baseline"]))
    drawn = []
    for unit, bars in by_unit.items():
        caption = CAPTIONS.get(unit.strip(), f"Indicateurs en {unit.strip()}")
        drawn.append((caption, bar_chart(caption, unit, bars)))
    return drawn


@router.get("/experiences/{experiment_id}")
async def experiment_detail(request: Request, experiment_id: ExperimentId) -> Response:
    person = await signed_in(request)
    answer = await person.api.get(f"/v1/experiments/{experiment_id}")
    if not answer.ok:
        return api_failed(request, person, answer, back="/console/experiences")
    measured = await person.api.get(f"/v1/experiments/{experiment_id}/kpis")
    kpis = measured.json() if measured.ok else None
    return render(
        request, person, "experience.html", active="experiences", experiment=answer.json(), kpis=kpis,
        withheld=None if measured.ok else measured.detail, charts=charts(kpis["kpis"]) if kpis else [], pilots=PILOTS,
    )  # fmt: skip
