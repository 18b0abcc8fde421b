"""A mission's inspection report (services/reports/inspection.py) in JSON, CSV, HTML or PDF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.api.csv_export import Dialect, DialectQuery
from services.api.deps import ConnDep
from services.api.downloads import attachment
from services.api.resources import MediaDep
from services.api.schemas import ErrorMessage
from services.reports.comparison import DEFAULT_TOLERANCE_M, DifferentPipes, compare_missions
from services.reports.exchange import ExchangeFile, from_mission, to_text, to_xml
from services.reports.inspection import as_csv, as_html, as_json, as_pdf, build

router = APIRouter(tags=["inspections"])


@router.get(
    "/missions/{mission_id}/report",
    summary="The mission's inspection report (EN 13508-2 observations, grades, the strip along the pipe)",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {},
                "text/html": {},
                "application/pdf": {},
                "text/plain": {},
                "application/xml": {},
            }
        },
        404: {"model": ErrorMessage, "description": "No such mission"},
        409: {"model": ErrorMessage, "description": "compare_with names an inspection of another pipe"},
    },
    response_model=None,
)
def mission_report(
    conn: ConnDep,
    media: MediaDep,
    mission_id: str,
    format: Literal["json", "csv", "html", "pdf", "en13508-txt", "en13508-xml"] = Query(
        "json", description="json, csv, html, pdf, or the EN 13508-2 exchange file (Annex B) as text or XML."
    ),
    dialect: DialectQuery = Dialect.STANDARD,
    lang: Literal["fr", "en"] = Query(
        "fr",
        description="The language of the html and pdf report, of the standard CSV's review column, and #A2/A2 "
        "of an exchange file.",
    ),
    include_suggestions: bool = Query(
        False,
        description="An exchange file: add the vision's suggestions not yet reviewed (left out by default: "
        "the standard's rows cannot say an observation is unconfirmed).",
    ),
    compare_with: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Another inspection of the pipe (a mission id): the report "
            "compares them (json, html, pdf), as GET …/comparison does.",
        ),
    ] = None,
) -> Response:
    try:
        report = build(conn, mission_id, media if format in ("html", "pdf") else None, compare_with)
    except LookupError:
        raise HTTPException(404, f"mission {compare_with!r} (compare_with) not found") from None
    except DifferentPipes as exc:
        raise HTTPException(409, str(exc)) from exc
    if report is None:
        raise HTTPException(404, f"mission {mission_id!r} not found")
    name = f"inspection-{report.mission['pipe_id'] or mission_id}"
    if format in ("en13508-txt", "en13508-xml"):
        # what the asset software loads is what a person confirmed or the vision is trusted for: its suggestions
        # (no status in the standard's rows to say so) only on request
        coded = [o for o in report.observations if include_suggestions or o["trust"] != "suggested"]
        inspection = from_mission(report.mission, coded, lang)
        if left_out := len(report.observations) - len(coded):  # said in the file's general remark (ADE)
            said = (f"{left_out} observation(s) automatique(s) non revue(s) omise(s)" if lang == "fr"
                    else f"{left_out} automatic observation(s) not yet reviewed left out")  # fmt: skip
            inspection.header["ADE"] = f"{inspection.header['ADE']} ; {said}" if "ADE" in inspection.header else said
        exchange = ExchangeFile(language=lang, inspections=[inspection])
        xml = format == "en13508-xml"
        return Response(to_xml(exchange) if xml else to_text(exchange),
                        media_type="application/xml; charset=utf-8" if xml else "text/plain; charset=utf-8",
                        headers={"Content-Disposition": attachment(f"{name}.{'xml' if xml else 'txt'}")})  # fmt: skip
    if format == "csv":
        return Response(as_csv(report, excel_fr=dialect is Dialect.EXCEL_FR, lang=lang),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": attachment(f"{name}.csv")})  # fmt: skip
    if format == "html":
        return HTMLResponse(as_html(report, lang))
    if format == "pdf":
        return Response(as_pdf(report, lang), media_type="application/pdf",
                        headers={"Content-Disposition": attachment(f"{name}.pdf")})  # fmt: skip
    return JSONResponse(jsonable_encoder(as_json(report)))


@router.get(
    "/missions/{mission_id}/comparison",
    summary="Two inspections of a pipe compared: observations found by both (same code, within tolerance_m, "
    "clock positions meeting), by one only",
    responses={
        404: {"model": ErrorMessage, "description": "No such mission (either)"},
        409: {"model": ErrorMessage, "description": "The two inspections are of two different pipes"},
    },
    response_model=None,
)
def mission_comparison(
    conn: ConnDep,
    mission_id: str,
    other: Annotated[str, Query(alias="with", min_length=1, max_length=200, description="The other mission's id.")],
    tolerance_m: Annotated[float, Query(gt=0, le=5, description="How far apart along the pipe, metres.")] = (
        DEFAULT_TOLERANCE_M
    ),
) -> JSONResponse:
    try:
        found = compare_missions(conn, mission_id, other, tolerance_m=tolerance_m)
    except DifferentPipes as exc:
        raise HTTPException(409, str(exc)) from exc
    if found is None:
        raise HTTPException(404, f"mission {mission_id!r} or {other!r} not found")
    return JSONResponse(jsonable_encoder(found))
