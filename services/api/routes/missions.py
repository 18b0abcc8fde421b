"""Drone inspection missions with their telemetry along the pipe and their video frames."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException
from psycopg import sql

from core.db import one_row
from services.api.deps import ConnDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
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
    bounds, params = _bounds(row)
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM drone_telemetry WHERE mission_id = %(m)s{b}) AS telemetry_count, "
        "(SELECT count(*) FROM drone_frames WHERE mission_id = %(m)s{b}) AS frame_count, "
        "(SELECT max(chainage_m) FROM drone_telemetry WHERE mission_id = %(m)s{b}) AS max_chainage_m"
    ).format(b=bounds)
    counts = one_row(conn.execute(query, {"m": mission_id, **params}))
    return MissionDetail(**row, **counts)


# A mission's rows lie within its time range: bounding the query by it lets TimescaleDB read only the
# chunks of those days. The margin covers a device clock that stamps a little before its mission start.
BOUND_MARGIN = timedelta(hours=1)


def _bounds(mission: dict) -> tuple[sql.Composable, dict]:
    """``AND time >= … AND time <= …`` from the mission's own start and end (either may be unknown yet)."""
    lower = mission["started_at"] - BOUND_MARGIN if mission["started_at"] else None
    upper = mission["ended_at"] + BOUND_MARGIN if mission["ended_at"] else None
    fragment = sql.SQL("").join(
        [sql.SQL(" AND time >= %(lower)s" if lower else ""), sql.SQL(" AND time <= %(upper)s" if upper else "")]
    )
    return fragment, {"lower": lower, "upper": upper}


def _mission_rows(
    conn: ConnDep, mission: dict, table: str, columns: str, limit: int, offset: int, cursor: str | None
) -> tuple[list[dict], str | None, bool]:
    key = decode_cursor(cursor, (datetime,), offset)
    keyset, key_params = after(("time",), key, descending=False)
    bounds, params = _bounds(mission)
    query = sql.SQL(
        "SELECT {columns} FROM {table} WHERE mission_id = %(m)s{bounds}{keyset} "
        "ORDER BY time LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=sql.SQL(columns), table=sql.Identifier(table), bounds=bounds, keyset=keyset)
    params |= {"m": mission["mission_id"], "limit": limit, "offset": offset}
    rows = conn.execute(query, {**params, **key_params}).fetchall()
    return rows, next_cursor(rows, limit, ("time",)), key is not None


@router.get("/{mission_id}/telemetry", summary="Telemetry of a mission in time order")
def get_mission_telemetry(
    conn: ConnDep, mission_id: str, limit: Limit = 1000, offset: Offset = 0, cursor: Cursor = None
) -> Page[TelemetryPoint]:
    mission = _require_mission(conn, mission_id)
    rows, following, by_cursor = _mission_rows(
        conn, mission, "drone_telemetry", TELEMETRY_COLUMNS, limit, offset, cursor
    )
    return page([TelemetryPoint(**r) for r in rows], limit, offset, following, by_cursor=by_cursor)


@router.get("/{mission_id}/frames", summary="Video frames of a mission, tagged with chainage")
def get_mission_frames(
    conn: ConnDep, mission_id: str, limit: Limit = 1000, offset: Offset = 0, cursor: Cursor = None
) -> Page[Frame]:
    mission = _require_mission(conn, mission_id)
    rows, following, by_cursor = _mission_rows(
        conn, mission, "drone_frames", "time, chainage_m, seq, media_sha256", limit, offset, cursor
    )
    frames = [Frame(**r, media_url=f"/v1/media/{r['media_sha256']}") for r in rows]
    return page(frames, limit, offset, following, by_cursor=by_cursor)
