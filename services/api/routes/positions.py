"""Positions and maps (issue 22, item 2; docs/positions.md): a device's place, the drone's manholes, and
GeoJSON (RFC 7946) of devices, incidents and inspected pipe segments for any GIS or web map.

Positions are WGS 84 (EPSG:4326) longitude and latitude, as RFC 7946 requires; each feature also carries
the place in Lambert-93 (EPSG:2154), what French municipal GIS and staff use (``core/geo.py``). A device's
position is set at provisioning or here; a manhole's by its reference (the `start_manhole` / `end_manhole` a
mission names). A pipe segment is drawn where both its manholes have a position.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from core.device_registry import set_position
from core.geo import Position
from device_adapters.validation import DEVICE_ID
from services.api.deps import ConnDep, PrincipalDep
from services.api.schemas import DevicePosition, ErrorMessage, PositionIn, Text, position_of

router = APIRouter(tags=["positions"])
DeviceId = Annotated[str, Path(pattern=DEVICE_ID.pattern)]
# no "/": a path segment cannot carry one (a drone may name such a manhole; it cannot be placed: docs/positions.md)
ManholeRef = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")]
GEOJSON = "application/geo+json"
DIGITS = 7  # RFC 7946 §11.2: about a centimetre; more digits are noise


class ManholeIn(PositionIn):
    description: Text | None = Field(None, max_length=500)


class Manhole(BaseModel):
    ref: str
    lat: float
    lon: float
    lambert93: dict[str, float] | None
    description: str | None
    updated_by: str
    updated_at: datetime


def _manhole(row: dict[str, Any]) -> Manhole:
    l93 = Position(row["lat"], row["lon"]).lambert93
    return Manhole(**row, lambert93={"x": l93[0], "y": l93[1]} if l93 else None)


@router.put(
    "/devices/{device_id}/position",
    summary="Set where a device is (WGS 84)",
    responses={404: {"model": ErrorMessage, "description": "No such device"}},
)
def put_position(conn: ConnDep, device_id: DeviceId, position: PositionIn) -> DevicePosition:
    if not set_position(conn, device_id, Position(position.lat, position.lon)):
        raise HTTPException(404, f"device {device_id!r} not found")
    row = conn.execute(
        "SELECT lat, lon, position_source, position_at, position_accuracy_m FROM devices WHERE device_id = %s",
        (device_id,),
    ).fetchone()
    found = position_of(dict(row or {}))
    assert found is not None  # just written
    return found


@router.delete(
    "/devices/{device_id}/position",
    status_code=204,
    summary="Forget where a device is",
    responses={404: {"model": ErrorMessage, "description": "No such device"}},
)
def delete_position(conn: ConnDep, device_id: DeviceId) -> None:
    if not set_position(conn, device_id, None):
        raise HTTPException(404, f"device {device_id!r} not found")


@router.get("/manholes", summary="The manholes with a position, by reference")
def list_manholes(conn: ConnDep) -> list[Manhole]:
    rows = conn.execute(
        "SELECT ref, lat, lon, description, updated_by, updated_at FROM manholes ORDER BY ref LIMIT 100000"
    ).fetchall()
    return [_manhole(r) for r in rows]


@router.put("/manholes/{ref}", summary="Set a manhole's position (the reference a mission names)")
def put_manhole(conn: ConnDep, principal: PrincipalDep, ref: ManholeRef, manhole: ManholeIn) -> Manhole:
    row = conn.execute(
        "INSERT INTO manholes (ref, lat, lon, description, updated_by) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (ref) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon, description = EXCLUDED.description, "
        "updated_by = EXCLUDED.updated_by, updated_at = now() "
        "RETURNING ref, lat, lon, description, updated_by, updated_at",
        (ref, manhole.lat, manhole.lon, manhole.description, principal.name),
    ).fetchone()
    assert row is not None  # an upsert returns its row
    return _manhole(row)


def _point(lat: float, lon: float) -> dict[str, Any]:
    # + 0.0: a -0.0 (a point on the equator or the prime meridian, rounded) is written 0.0
    return {"type": "Point", "coordinates": [round(lon, DIGITS) + 0.0, round(lat, DIGITS) + 0.0]}


def _l93(lat: float, lon: float) -> dict[str, float] | None:
    found = Position(lat, lon).lambert93
    return {"x": found[0], "y": found[1]} if found else None


def _collection(features: list[dict[str, Any]]) -> JSONResponse:
    """An RFC 7946 FeatureCollection (no ``crs`` member: WGS 84 is implied), as ``application/geo+json``."""
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type=GEOJSON)


def _times(row: dict[str, Any], *names: str) -> dict[str, str | None]:
    return {n: row[n].isoformat() if row[n] else None for n in names}


GEO_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}}, "description": "A FeatureCollection"}}


@router.get(
    "/devices.geojson",
    summary="Devices with a position, as GeoJSON points",
    response_class=JSONResponse,
    responses=GEO_RESPONSE,
)
def devices_geojson(conn: ConnDep, family: Annotated[str | None, Query(max_length=64)] = None) -> JSONResponse:
    rows = conn.execute(
        "SELECT device_id, family, location, lat, lon, last_seen, "
        "CASE WHEN online IS NULL THEN 'unknown' WHEN online THEN 'online' ELSE 'offline' END AS status "
        "FROM devices WHERE lat IS NOT NULL AND (%s::text IS NULL OR family = %s) ORDER BY device_id LIMIT 100000",
        (family, family),
    ).fetchall()
    return _collection([
        {"type": "Feature", "id": r["device_id"], "geometry": _point(r["lat"], r["lon"]),
         "properties": {"device_id": r["device_id"], "family": r["family"], "location": r["location"],
                        "status": r["status"], **_times(r, "last_seen"), "lambert93": _l93(r["lat"], r["lon"])}}
        for r in rows
    ])  # fmt: skip


@router.get(
    "/incidents.geojson",
    summary="Incidents as GeoJSON points at their camera's position (the lists' filters)",
    response_class=JSONResponse,
    responses=GEO_RESPONSE,
)
def incidents_geojson(
    conn: ConnDep,
    state: Annotated[Literal["suspected", "confirmed", "dismissed", "cleared", "closed"] | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Began at or after (default: 30 days ago).")] = None,
) -> JSONResponse:
    rows = conn.execute(
        "SELECT i.id, i.device_id, i.label, i.zone, i.state, i.began_at, i.cleared_at, d.lat, d.lon, d.location "
        "FROM incidents i JOIN devices d ON d.device_id = i.device_id WHERE d.lat IS NOT NULL "
        "AND i.began_at >= %s AND (%s::text IS NULL OR i.state = %s) ORDER BY i.began_at DESC LIMIT 50000",
        (since or datetime.now().astimezone() - timedelta(days=30), state, state),
    ).fetchall()
    return _collection([
        {"type": "Feature", "id": r["id"], "geometry": _point(r["lat"], r["lon"]),
         "properties": {"incident_id": r["id"], "device_id": r["device_id"], "location": r["location"],
                        "label": r["label"], "zone": r["zone"], "state": r["state"],
                        **_times(r, "began_at", "cleared_at"), "lambert93": _l93(r["lat"], r["lon"])}}
        for r in rows
    ])  # fmt: skip


@router.get(
    "/missions.geojson",
    summary="Inspected pipe segments as GeoJSON lines, from start to end manhole (both with a position)",
    response_class=JSONResponse,
    responses=GEO_RESPONSE,
)
def missions_geojson(
    conn: ConnDep,
    since: Annotated[datetime | None, Query(description="Started at or after (default: a year ago).")] = None,
) -> JSONResponse:
    rows = conn.execute(
        "SELECT m.mission_id, m.pipe_id, m.start_manhole, m.end_manhole, m.direction, m.diameter_mm, m.material, "
        "m.status, m.started_at, m.ended_at, m.distance_m, a.lat AS a_lat, a.lon AS a_lon, b.lat AS b_lat, "
        "b.lon AS b_lon, (SELECT count(*) FROM observations o WHERE o.mission_id = m.mission_id "
        "AND o.state NOT IN ('rejected', 'withdrawn')) AS observations, (SELECT max(coalesce(o.recoded_grade, "
        "o.grade)) FROM observations o WHERE o.mission_id = m.mission_id AND o.state NOT IN ('rejected', "
        "'withdrawn')) AS worst_grade FROM missions m JOIN manholes a ON a.ref = m.start_manhole "
        "JOIN manholes b ON b.ref = m.end_manhole WHERE m.started_at >= %s ORDER BY m.started_at DESC LIMIT 50000",
        (since or datetime.now().astimezone() - timedelta(days=366),),
    ).fetchall()
    return _collection([
        {"type": "Feature", "id": r["mission_id"],
         "geometry": {"type": "LineString",
                      "coordinates": [_point(r["a_lat"], r["a_lon"])["coordinates"],
                                      _point(r["b_lat"], r["b_lon"])["coordinates"]]},
         "properties": {k: r[k] for k in ("mission_id", "pipe_id", "start_manhole", "end_manhole", "direction",
                                          "diameter_mm", "material", "status", "distance_m", "observations",
                                          "worst_grade")} | _times(r, "started_at", "ended_at")
                       | {"start_lambert93": _l93(r["a_lat"], r["a_lon"]),
                          "end_lambert93": _l93(r["b_lat"], r["b_lon"])}}
        for r in rows
    ])  # fmt: skip
