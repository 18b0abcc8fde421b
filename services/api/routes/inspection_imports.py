"""Contractors' EN 13508-2 exchange files imported beside the drone's missions (services/reports/importing.py;
docs/exchange.md): POST the file as it came (text or XML), read what it became, fetch it back, remove it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from services.api.deps import ConnDep, PrincipalDep
from services.api.downloads import attachment
from services.api.schemas import ErrorMessage, invalid
from services.reports.importing import AlreadyImported, ImportRefused, WarningCode, store

router = APIRouter(prefix="/inspection-imports", tags=["inspections"])
ImportId = Annotated[int, Path(ge=1, le=2**62)]
COLUMNS = (
    "id, sha256, filename, format, language, version, size_bytes, imported_by, imported_at, inspections, "
    "observations, warnings"
)


class FileWarning(BaseModel):
    inspection: int = Field(description="The inspection's number in the file (1: the first), 0: the whole file.")
    code: WarningCode = Field(
        description="What is to check: unknown_node (not among the city's manholes), "
        "no_asset_base, unknown_code (not a main code of the standard), ungraded (outside the "
        "platform's grade table), unknown_value (a shape ACA or material ACD outside the "
        "standard's lists), no_pipe_reference, already_imported, more_warnings."
    )
    field: str
    value: str
    message: str


class ImportedInspection(BaseModel):
    mission_id: str
    pipe_id: str | None
    start_manhole: str | None
    end_manhole: str | None
    started_at: datetime | None
    observations: int
    ungraded: int = Field(
        description="Defects (structural or operational codes) whose code the platform's grade table does not grade."
    )
    drone_missions: list[str] = Field(
        description="The drone's missions of the same pipe, most recent first: compare with "
        "GET /v1/missions/{mission_id}/comparison?with=…"
    )


class InspectionImport(BaseModel):
    id: int
    sha256: str
    filename: str | None
    format: Literal["en13508-txt", "en13508-xml"]
    language: str | None
    version: str | None
    size_bytes: int
    imported_by: str
    imported_at: datetime
    inspections: int
    observations: int
    warnings: list[FileWarning]


class InspectionImportDetail(InspectionImport):
    missions: list[ImportedInspection]


async def _raw_body(request: Request) -> bytes:
    """The file's bytes as sent (no JSON model: the exchange file is the body), read before the route's thread."""
    return await request.body()


def _detail(conn: psycopg.Connection[Any], import_id: int) -> InspectionImportDetail:
    row = conn.execute(f"SELECT {COLUMNS} FROM inspection_imports WHERE id = %s", (import_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"inspection import {import_id} not found")
    missions = conn.execute(
        "SELECT m.mission_id, m.pipe_id, m.start_manhole, m.end_manhole, m.started_at, "
        "(SELECT count(*) FROM observations o WHERE o.mission_id = m.mission_id) AS observations, "
        "(SELECT count(*) FROM observations o WHERE o.mission_id = m.mission_id AND o.grade IS NULL "
        "AND o.code ~ '^B[AB]') AS ungraded, "
        "coalesce((SELECT array_agg(d.mission_id ORDER BY d.started_at DESC NULLS LAST) FROM missions d "
        "WHERE d.source = 'drone' AND d.pipe_id = m.pipe_id), '{}') AS drone_missions "
        "FROM missions m WHERE m.import_id = %s",
        (import_id,),
    ).fetchall()
    ordered = sorted(missions, key=lambda m: int(m["mission_id"].rsplit("-", 1)[1]))
    return InspectionImportDetail(**row, missions=[ImportedInspection(**m) for m in ordered])


@router.post(
    "",
    status_code=201,
    summary="Import a contractor's EN 13508-2 exchange file (text or XML): its inspections land beside the "
    "drone's missions",
    responses={
        409: {"model": ErrorMessage, "description": "This file (the same bytes) was imported already"},
        422: {"description": "Not an exchange file, or a fault in it (the inspection, row and field named)"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
def post_import(
    conn: ConnDep,
    principal: PrincipalDep,
    response: Response,
    body: Annotated[bytes, Depends(_raw_body)],
    filename: Annotated[
        str | None, Query(max_length=255, description="The file's name, kept with it (the contractor's).")
    ] = None,
) -> InspectionImportDetail:
    """The file is checked whole before anything is stored: one fault refuses it (422 naming the inspection, the
    row and the field: the error's ``msg`` in English, its ``msg_fr`` in French, for staff). Each inspection
    becomes a mission ``itv-<import>-<n>`` with no device; its observations are stored confirmed by the file's
    inspector (ABH), graded where the platform's grade table knows the code. Nodes the city's manholes do not
    list and codes outside the standard or the grade table are reported as warnings."""
    if not body:
        raise invalid("body", "file", "the body is empty: send the exchange file itself", None,
                      french="le fichier envoyé est vide (0 octet)")  # fmt: skip
    try:
        # the answer is made in the file's transaction: an answer that cannot be made stores nothing
        with conn.transaction():
            imported = store(conn, body, filename, principal.name)
            detail = _detail(conn, imported.id)
    except ImportRefused as exc:
        raise invalid("body", "file", str(exc), None, french=exc.french) from exc
    except AlreadyImported as exc:
        raise HTTPException(409, str(exc), headers={"Location": f"/v1/inspection-imports/{exc.import_id}"}) from exc
    response.headers["Location"] = f"/v1/inspection-imports/{imported.id}"
    return detail


@router.get("", summary="Imported exchange files, the most recent first")
def list_imports(
    conn: ConnDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0
) -> list[InspectionImport]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM inspection_imports ORDER BY imported_at DESC, id DESC LIMIT %s OFFSET %s",
        (limit, offset),
    ).fetchall()
    return [InspectionImport(**r) for r in rows]


@router.get(
    "/{import_id}",
    summary="One imported file: its inspections (as missions), their drone counterparts, its warnings",
    responses={404: {"model": ErrorMessage, "description": "No such import"}},
)
def get_import(conn: ConnDep, import_id: ImportId) -> InspectionImportDetail:
    return _detail(conn, import_id)


@router.get(
    "/{import_id}/file",
    summary="The file as it was received",
    responses={404: {"model": ErrorMessage, "description": "No such import"}},
    response_class=Response,
)
def get_import_file(conn: ConnDep, import_id: ImportId) -> Response:
    row = conn.execute(
        "SELECT filename, format, content FROM inspection_imports WHERE id = %s", (import_id,)
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"inspection import {import_id} not found")
    xml = row["format"] == "en13508-xml"
    name = row["filename"] or f"import-{import_id}.{'xml' if xml else 'txt'}"
    # the bytes as they came, in whatever character set their #A1 line names: served as bytes, never rendered
    return Response(bytes(row["content"]), media_type="application/xml" if xml else "application/octet-stream",
                    headers={"Content-Disposition": attachment(name), "X-Content-Type-Options": "nosniff"})  # fmt: skip


@router.delete(
    "/{import_id}",
    status_code=204,
    summary="Remove an imported file and the inspections it brought (a wrong file, imported by mistake)",
    responses={404: {"model": ErrorMessage, "description": "No such import"}},
)
def delete_import(conn: ConnDep, import_id: ImportId) -> Response:
    with conn.transaction():
        missions = [r["mission_id"] for r in conn.execute(
            "SELECT mission_id FROM missions WHERE import_id = %s", (import_id,))]  # fmt: skip
        conn.execute("DELETE FROM observations WHERE mission_id = ANY(%s)", (missions,))
        conn.execute("DELETE FROM missions WHERE import_id = %s", (import_id,))
        if conn.execute("DELETE FROM inspection_imports WHERE id = %s RETURNING id", (import_id,)).fetchone() is None:
            raise HTTPException(404, f"inspection import {import_id} not found")
    return Response(status_code=204)
