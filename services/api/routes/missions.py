"""Drone inspection missions with their telemetry along the pipe and their video frames."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from core.db import one_row
from services.api.deps import ConnDep
from services.api.schemas import Frame, Limit, Mission, MissionDetail, Offset, Page, TelemetryPoint, page

router = APIRouter(prefix="/missions", tags=["missions"])

MISSION_COLUMNS = (
    "mission_id, device_id, started_at, ended_at, status, pipe_id, start_manhole, end_manhole, "
    "direction, diameter_mm, material, operator, notes, distance_m"
)
TELEMETRY_COLUMNS = ", ".join(TelemetryPoint.model_fields)


def _require_mission(conn: ConnDep, mission_id: str) -> dict:
    row = conn.execute(f"SELECT {MISSION_COLUMNS} FROM missions WHERE mission_id = %s", (mission_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"mission {mission_id!r} not found")
    return row


@router.get("", summary="Missions, most recent first")
def list_missions(
    conn: ConnDep, device_id: str | None = None, pipe_id: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> Page[Mission]:
    rows = conn.execute(
        f"SELECT {MISSION_COLUMNS} FROM missions WHERE (%(d)s::text IS NULL OR device_id = %(d)s) "
        "AND (%(p)s::text IS NULL OR pipe_id = %(p)s) "
        "ORDER BY started_at DESC NULLS LAST, mission_id LIMIT %(limit)s OFFSET %(offset)s",
        {"d": device_id, "p": pipe_id, "limit": limit, "offset": offset},
    ).fetchall()
    return page([Mission(**r) for r in rows], limit, offset)


@router.get("/{mission_id}", summary="One mission: pipe segment header and what was recorded")
def get_mission(conn: ConnDep, mission_id: str) -> MissionDetail:
    row = _require_mission(conn, mission_id)
    counts = one_row(
        conn.execute(
            "SELECT (SELECT count(*) FROM drone_telemetry WHERE mission_id = %(m)s) AS telemetry_count, "
            "(SELECT count(*) FROM drone_frames WHERE mission_id = %(m)s) AS frame_count, "
            "(SELECT max(chainage_m) FROM drone_telemetry WHERE mission_id = %(m)s) AS max_chainage_m",
            {"m": mission_id},
        )
    )
    return MissionDetail(**row, **counts)


@router.get("/{mission_id}/telemetry", summary="Telemetry of a mission in time order")
def get_mission_telemetry(
    conn: ConnDep, mission_id: str, limit: Limit = 1000, offset: Offset = 0
) -> Page[TelemetryPoint]:
    _require_mission(conn, mission_id)
    rows = conn.execute(
        f"SELECT {TELEMETRY_COLUMNS} FROM drone_telemetry WHERE mission_id = %s ORDER BY time LIMIT %s OFFSET %s",
        (mission_id, limit, offset),
    ).fetchall()
    return page([TelemetryPoint(**r) for r in rows], limit, offset)


@router.get("/{mission_id}/frames", summary="Video frames of a mission, tagged with chainage")
def get_mission_frames(conn: ConnDep, mission_id: str, limit: Limit = 1000, offset: Offset = 0) -> Page[Frame]:
    _require_mission(conn, mission_id)
    rows = conn.execute(
        "SELECT time, chainage_m, seq, media_sha256 FROM drone_frames WHERE mission_id = %s "
        "ORDER BY time LIMIT %s OFFSET %s",
        (mission_id, limit, offset),
    ).fetchall()
    return page([Frame(**r, media_url=f"/v1/media/{r['media_sha256']}") for r in rows], limit, offset)
