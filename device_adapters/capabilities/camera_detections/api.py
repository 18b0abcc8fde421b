# mypy: disable-error-code="valid-type,attr-defined"
# (the routes are annotated with the kit's types, which FastAPI reads at run time and mypy cannot follow)
"""The camera capability's API routes: detection events of every camera family's cameras (and of the
Frigate gateways logged in as camera devices), with their snapshots. Mounted once by the API
(``capabilities.API_MODULES``) while a family provides camera detections; readable by the roles every such
family lets read (``capability_readers``: camera data is personal data, audited).

No ``from __future__ import annotations`` here: the routes are defined inside ``routes(kit)`` and FastAPI
reads their annotations, which name the kit's types.
"""

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from psycopg import sql
from pydantic import BaseModel, Field

from device_adapters.api import ApiKit


class Snapshot(BaseModel):
    """A camera image as every reader may see it: its privacy copy (masks, persons and vehicles, faces and
    plates blurred). Police view an original through its incident (GET /v1/incidents/{id})."""

    time: datetime
    privacy: Literal["ready", "pending", "unavailable"] = Field(
        description="ready: media_url is the privacy copy; pending: being made (seconds); unavailable: the "
        "original could not be copied (its file is gone)."
    )
    media_url: str | None = Field(description="The privacy copy (PNG), when ready.")


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
    false_positive: bool
    plate_read: bool = Field(description="A number plate was read (its text is shown to police only, in incidents).")


class CameraEventDetail(CameraEvent):
    snapshots: list[Snapshot]


EVENT_COLUMNS = (
    ", ".join(f for f in CameraEvent.model_fields if f != "plate_read") + ", plate IS NOT NULL AS plate_read"
)
# an event's images (the view camera_event_images: its own snapshots, and a Frigate gateway's of its camera
# and label while it lasted) with their privacy copies
SNAPSHOTS = """
SELECT i.time, c.copy_sha256, c.error FROM camera_event_images i
LEFT JOIN evidence_copies c ON c.original_sha256 = i.media_sha256
WHERE i.event_id = %(e)s ORDER BY i.time
"""
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
        snaps = conn.execute(SNAPSHOTS, {"e": event_id}).fetchall()
        snapshots = [
            Snapshot(
                time=s["time"],
                privacy="ready" if s["copy_sha256"] else "unavailable" if s["error"] else "pending",
                media_url=kit.media_url(s["copy_sha256"]) if s["copy_sha256"] else None,
            )
            for s in snaps
        ]
        return CameraEventDetail(**row, snapshots=snapshots)

    return router
