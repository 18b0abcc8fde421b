# mypy: disable-error-code="valid-type,attr-defined"
# (the routes are annotated with the kit's types, which FastAPI reads at run time and mypy cannot follow)
"""Karroad's own API routes: detection events of the dumping cameras, with their snapshots. Mounted by the
API from ``Family.api``; readable by the family's readers (camera data is personal data: audited).

No ``from __future__ import annotations`` here: the routes are defined inside ``routes(kit)`` and FastAPI
reads their annotations, which name the kit's types.
"""

from datetime import datetime, timedelta

from fastapi import APIRouter
from psycopg import sql
from pydantic import BaseModel

from device_adapters.api import ApiKit


class Snapshot(BaseModel):
    time: datetime
    media_sha256: str
    media_url: str


class CameraEvent(BaseModel):
    event_id: str
    device_id: str
    source: str
    event_type: str
    updated_at: datetime
    label: str
    score: float
    box: list[int]
    zone: str | None
    start_time: datetime
    end_time: datetime | None
    stationary: bool
    has_snapshot: bool


class CameraEventDetail(CameraEvent):
    snapshots: list[Snapshot]


EVENT_COLUMNS = ", ".join(CameraEvent.model_fields)
LIST_KEY = ("start_time", "event_id")  # the list's order, unique: its keyset


def routes(kit: ApiKit) -> APIRouter:
    router = APIRouter(prefix="/camera-events", tags=["camera events"])
    Conn, Limit, Offset, Cursor, Page = kit.Conn, kit.Limit, kit.Offset, kit.Cursor, kit.Page

    @router.get("", summary="Events that started in a time range (default: the last 7 days), newest first")
    def list_events(
        conn: Conn,
        device_id: str | None = None,
        label: str | None = None,
        zone: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
        cursor: Cursor = None,
    ) -> Page[CameraEvent]:
        start, end = kit.time_range(start, end, timedelta(days=7))
        key = kit.decode_cursor(cursor, (datetime, str), offset)
        keyset, key_params = kit.after(LIST_KEY, key, descending=True)
        filters = [("device_id = %(d)s", device_id), ("label = %(l)s", label), ("zone = %(z)s", zone)]
        where = sql.SQL("").join(sql.SQL(f" AND {f}") for f, v in filters if v is not None)
        query = sql.SQL(
            "SELECT {columns} FROM camera_events WHERE start_time >= %(start)s AND start_time < %(end)s"
            "{where}{keyset} ORDER BY start_time DESC, event_id DESC LIMIT %(limit)s OFFSET %(offset)s"
        ).format(columns=sql.SQL(EVENT_COLUMNS), where=where, keyset=keyset)
        params = {"start": start, "end": end, "d": device_id, "l": label, "z": zone, "limit": limit, "offset": offset}
        rows = conn.execute(query, {**params, **key_params}).fetchall()
        items = [CameraEvent(**r) for r in rows]
        return kit.page(items, limit, offset, kit.next_cursor(rows, limit, LIST_KEY), by_cursor=key is not None)

    @router.get("/{event_id}", summary="One event with its snapshots")
    def get_event(conn: Conn, event_id: str) -> CameraEventDetail:
        row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM camera_events WHERE event_id = %s", (event_id,)).fetchone()
        if row is None:
            raise kit.not_found(f"camera event {event_id!r}")
        # its own snapshots, and a Frigate gateway's of its camera and label while it lasted (Frigate's carry
        # no event id: the best frame of the latest object of that label, published again at its end)
        snaps = conn.execute(
            "SELECT time, media_sha256 FROM camera_snapshots WHERE event_id = %(e)s UNION "
            "SELECT time, media_sha256 FROM camera_label_snapshots WHERE device_id = %(d)s AND label = %(l)s "
            "AND time >= %(start)s AND time <= coalesce(%(end)s, now()) + interval '1 minute' ORDER BY time",
            {
                "e": event_id,
                "d": row["device_id"],
                "l": row["label"],
                "start": row["start_time"],
                "end": row["end_time"],
            },
        ).fetchall()
        snapshots = [Snapshot(**s, media_url=kit.media_url(s["media_sha256"])) for s in snaps]
        return CameraEventDetail(**row, snapshots=snapshots)

    return router
