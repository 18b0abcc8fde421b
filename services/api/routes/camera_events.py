"""Detection events of the dumping cameras, with their snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException

from services.api.deps import ConnDep
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
) -> Page[CameraEvent]:
    start, end = time_range(start, end, timedelta(days=7))
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM camera_events WHERE start_time >= %(start)s AND start_time < %(end)s "
        "AND (%(d)s::text IS NULL OR device_id = %(d)s) AND (%(l)s::text IS NULL OR label = %(l)s) "
        "AND (%(z)s::text IS NULL OR zone = %(z)s) "
        "ORDER BY start_time DESC, event_id LIMIT %(limit)s OFFSET %(offset)s",
        {"start": start, "end": end, "d": device_id, "l": label, "z": zone, "limit": limit, "offset": offset},
    ).fetchall()
    return page([CameraEvent(**r) for r in rows], limit, offset)


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
