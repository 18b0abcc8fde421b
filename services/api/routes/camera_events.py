"""Detection events of the dumping cameras, with their snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException
from psycopg import sql

from services.api.deps import ConnDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import (
    CameraEvent,
    CameraEventDetail,
    Limit,
    Offset,
    Page,
    Snapshot,
    page,
    time_range,
)

router = APIRouter(prefix="/camera-events", tags=["camera events"])

EVENT_COLUMNS = ", ".join(CameraEvent.model_fields)
LIST_KEY = ("start_time", "event_id")  # the list's order, unique: its keyset


@router.get("", summary="Events that started in a time range (default: the last 7 days), newest first")
def list_events(
    conn: ConnDep,
    device_id: str | None = None,
    label: str | None = None,
    zone: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Page[CameraEvent]:
    start, end = time_range(start, end, timedelta(days=7))
    key = decode_cursor(cursor, (datetime, str), offset)
    keyset, key_params = after(LIST_KEY, key, descending=True)
    filters = [("device_id = %(d)s", device_id), ("label = %(l)s", label), ("zone = %(z)s", zone)]
    where = sql.SQL("").join(sql.SQL(f" AND {f}") for f, v in filters if v is not None)
    query = sql.SQL(
        "SELECT {columns} FROM camera_events WHERE start_time >= %(start)s AND start_time < %(end)s{where}{keyset} "
        "ORDER BY start_time DESC, event_id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=sql.SQL(EVENT_COLUMNS), where=where, keyset=keyset)
    params = {"start": start, "end": end, "d": device_id, "l": label, "z": zone, "limit": limit, "offset": offset}
    rows = conn.execute(query, {**params, **key_params}).fetchall()
    items = [CameraEvent(**r) for r in rows]
    return page(items, limit, offset, next_cursor(rows, limit, LIST_KEY), by_cursor=key is not None)


@router.get("/{event_id}", summary="One event with its snapshots")
def get_event(conn: ConnDep, event_id: str) -> CameraEventDetail:
    row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM camera_events WHERE event_id = %s", (event_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"camera event {event_id!r} not found")
    snaps = conn.execute(
        "SELECT time, media_sha256 FROM camera_snapshots WHERE event_id = %s ORDER BY time", (event_id,)
    ).fetchall()
    return CameraEventDetail(
        **row, snapshots=[Snapshot(**s, media_url=f"/v1/media/{s['media_sha256']}") for s in snaps]
    )
