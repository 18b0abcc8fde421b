# mypy: disable-error-code="valid-type,attr-defined"
# (the routes are annotated with the kit's types, which FastAPI reads at run time and mypy cannot follow)
"""The pipe-inspection capability's API routes: missions (a pipe segment flown, by any inspection-drone
family) with their telemetry along the pipe and their video frames. Mounted once by the API
(``capabilities.API_MODULES``) while a family provides pipe inspection; readable by the roles every such
family lets read (``capability_readers``).

No ``from __future__ import annotations`` here: the routes are defined inside ``routes(kit)`` and FastAPI
reads their annotations, which name the kit's types.
"""

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter
from psycopg import sql
from pydantic import BaseModel, Field

from device_adapters.api import ApiKit
from device_adapters.capabilities.pipe_inspection.storage import mission_status


class Mission(BaseModel):
    mission_id: str
    device_id: str | None = Field(description="The drone that flew it; none for an inspection imported from a file.")
    source: Literal["drone", "import"] = Field(
        description="drone: flown by a drone of the platform; import: a contractor's inspection read from an "
        "EN 13508-2 exchange file (GET /v1/inspection-imports/{import_id})."
    )
    import_id: int | None
    started_at: datetime | None
    ended_at: datetime | None
    status: Literal["running", "completed", "aborted", "failed", "interrupted"] = Field(
        description="As the drone reported it; interrupted: reported running, but the drone is offline or has "
        "started another mission without ending this one (running again if its link comes back)."
    )
    pipe_id: str | None
    start_manhole: str | None
    end_manhole: str | None
    direction: str | None
    diameter_mm: int | None
    material: str | None
    operator: str | None
    notes: str | None
    distance_m: float | None


class MissionDetail(Mission):
    telemetry_count: int
    frame_count: int
    max_chainage_m: float | None


class TelemetryPoint(BaseModel):
    time: datetime
    chainage_m: float
    speed_mps: float | None
    heading_deg: float | None
    pitch_deg: float | None
    roll_deg: float | None
    water_level_pct: float | None
    water_temp_c: float | None
    air_temp_c: float | None
    h2s_ppm: float | None
    ch4_pct_lel: float | None
    o2_pct: float | None
    battery_pct: float | None
    rssi_dbm: float | None


class Frame(BaseModel):
    time: datetime
    chainage_m: float
    seq: int | None
    media_sha256: str
    media_url: str


STATUS = f"{mission_status()} AS status"  # running, or interrupted when the drone is gone (storage.py)
MISSION_COLUMNS = (
    f"mission_id, device_id, source, import_id, started_at, ended_at, {STATUS}, pipe_id, start_manhole, end_manhole, "
    "direction, diameter_mm, material, operator, notes, distance_m"
)
TELEMETRY_COLUMNS = ", ".join(TelemetryPoint.model_fields)
# A mission's rows lie within its time range: bounding the query by it lets TimescaleDB read only the
# chunks of those days. The margin covers a device clock that stamps a little before its mission start.
BOUND_MARGIN = timedelta(hours=1)


def _bounds(mission: dict[str, Any]) -> tuple[sql.Composable, dict[str, Any]]:
    """``AND time >= … AND time <= …`` from the mission's own start and end (either may be unknown yet)."""
    lower = mission["started_at"] - BOUND_MARGIN if mission["started_at"] else None
    upper = mission["ended_at"] + BOUND_MARGIN if mission["ended_at"] else None
    fragment = sql.SQL("").join(
        [sql.SQL(" AND time >= %(lower)s" if lower else ""), sql.SQL(" AND time <= %(upper)s" if upper else "")]
    )
    return fragment, {"lower": lower, "upper": upper}


def routes(kit: ApiKit) -> APIRouter:
    router = APIRouter(prefix="/missions", tags=["missions"])
    Conn, Limit, Offset, Cursor, Page = kit.Conn, kit.Limit, kit.Offset, kit.Cursor, kit.Page

    def require_mission(conn: Any, mission_id: str) -> dict[str, Any]:
        row = conn.execute(f"SELECT {MISSION_COLUMNS} FROM missions WHERE mission_id = %s", (mission_id,)).fetchone()
        if row is None:
            raise kit.not_found(f"mission {mission_id!r}")
        return row

    def mission_rows(
        conn: Any, mission: dict[str, Any], table: str, columns: str, limit: int, offset: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None, bool]:
        key = kit.decode_cursor(cursor, (datetime,), offset)
        keyset, key_params = kit.after(("time",), key, descending=False)
        bounds, params = _bounds(mission)
        query = sql.SQL(
            "SELECT {columns} FROM {table} WHERE mission_id = %(m)s{bounds}{keyset} "
            "ORDER BY time LIMIT %(limit)s OFFSET %(offset)s"
        ).format(columns=sql.SQL(columns), table=sql.Identifier(table), bounds=bounds, keyset=keyset)
        params |= {"m": mission["mission_id"], "limit": limit, "offset": offset}
        rows = conn.execute(query, {**params, **key_params}).fetchall()
        return rows, kit.next_cursor(rows, limit, ("time",)), key is not None

    @router.get("", summary="Missions, most recent first")
    def list_missions(
        conn: Conn,
        device_id: str | None = None,
        pipe_id: str | None = None,
        source: Literal["drone", "import"] | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[Mission]:
        rows = conn.execute(
            f"SELECT {MISSION_COLUMNS} FROM missions WHERE (%(d)s::text IS NULL OR device_id = %(d)s) "
            "AND (%(p)s::text IS NULL OR pipe_id = %(p)s) AND (%(s)s::text IS NULL OR source = %(s)s) "
            "ORDER BY started_at DESC NULLS LAST, mission_id LIMIT %(limit)s OFFSET %(offset)s",
            {"d": device_id, "p": pipe_id, "s": source, "limit": limit, "offset": offset},
        ).fetchall()
        return kit.page([Mission(**r) for r in rows], limit, offset)

    @router.get("/{mission_id}", summary="One mission: pipe segment header and what was recorded")
    def get_mission(conn: Conn, mission_id: str) -> MissionDetail:
        row = require_mission(conn, mission_id)
        bounds, params = _bounds(row)
        query = sql.SQL(
            "SELECT (SELECT count(*) FROM drone_telemetry WHERE mission_id = %(m)s{b}) AS telemetry_count, "
            "(SELECT count(*) FROM drone_frames WHERE mission_id = %(m)s{b}) AS frame_count, "
            "(SELECT max(chainage_m) FROM drone_telemetry WHERE mission_id = %(m)s{b}) AS max_chainage_m"
        ).format(b=bounds)
        counts = kit.one_row(conn.execute(query, {"m": mission_id, **params}))
        return MissionDetail(**row, **counts)

    @router.get("/{mission_id}/telemetry", summary="Telemetry of a mission in time order")
    def get_mission_telemetry(
        conn: Conn, mission_id: str, limit: Limit = 1000, offset: Offset = 0, cursor: Cursor = None
    ) -> Page[TelemetryPoint]:
        mission = require_mission(conn, mission_id)
        rows, following, by_cursor = mission_rows(
            conn, mission, "drone_telemetry", TELEMETRY_COLUMNS, limit, offset, cursor
        )
        return kit.page([TelemetryPoint(**r) for r in rows], limit, offset, following, by_cursor=by_cursor)

    @router.get("/{mission_id}/frames", summary="Video frames of a mission, tagged with chainage")
    def get_mission_frames(
        conn: Conn, mission_id: str, limit: Limit = 1000, offset: Offset = 0, cursor: Cursor = None
    ) -> Page[Frame]:
        mission = require_mission(conn, mission_id)
        rows, following, by_cursor = mission_rows(
            conn, mission, "drone_frames", "time, chainage_m, seq, media_sha256", limit, offset, cursor
        )
        frames = [Frame(**r, media_url=kit.media_url(r["media_sha256"])) for r in rows]
        return kit.page(frames, limit, offset, following, by_cursor=by_cursor)

    return router
