"""Privacy masks per device (``privacy_masks``, migration 0020) and where an image lies in its camera's frame.

Masks are polygons in fractions of the camera's whole frame. A native camera's snapshot is the whole
frame; a Frigate gateway's may be a crop around an object (docs/incidents.md), located from the camera's
detect resolution (``gateway_cameras``) and the object's snapshot box (``camera_events.snapshot_box``).
Ingest blacks the masks out before storing an image (``ingest/masks.py``); the privacy copy does it again
(a mask added later) and maps the event boxes the same way (``services/evidence``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg

from core.db import scalar
from device_adapters.capabilities.camera_detections.geometry import snapshot_region
from device_adapters.masking import Point, Region, check_polygons

WholeFrame = Literal["whole frame"]
WHOLE_FRAME: WholeFrame = "whole frame"
ASPECT_TOLERANCE = 0.02  # a resized whole frame keeps the frame's aspect; a square crop of a 16:9 frame does not


def set_masks(conn: psycopg.Connection[Any], device_id: str, polygons: Sequence[Sequence[Sequence[float]]]) -> int:
    """Replace the device's masks (an empty list removes them); returns how many it has now."""
    checked = check_polygons(polygons)
    if not conn.execute("SELECT 1 FROM devices WHERE device_id = %s", (device_id,)).fetchone():
        raise LookupError(f"device {device_id!r} is not registered")
    if not checked:
        conn.execute("DELETE FROM privacy_masks WHERE device_id = %s", (device_id,))
        return 0
    conn.execute(
        "INSERT INTO privacy_masks (device_id, polygons) VALUES (%s, %s) ON CONFLICT (device_id) DO UPDATE "
        "SET polygons = EXCLUDED.polygons, updated_at = now()",
        (device_id, json.dumps([[list(p) for p in polygon] for polygon in checked])),
    )
    return len(checked)


def _points(polygons: Any) -> list[list[Point]]:
    return [[(float(x), float(y)) for x, y in polygon] for polygon in polygons]


def all_masks(conn: psycopg.Connection[Any]) -> dict[str, list[list[Point]]]:
    rows = conn.execute("SELECT device_id, polygons FROM privacy_masks").fetchall()
    return {r["device_id"]: _points(r["polygons"]) for r in rows}


def masks_of(conn: psycopg.Connection[Any], device_id: str) -> list[list[Point]]:
    polygons = scalar(conn, "SELECT polygons FROM privacy_masks WHERE device_id = %s", (device_id,))
    return [] if polygons is None else _points(polygons)


def detect_size(conn: psycopg.Connection[Any], device_id: str) -> tuple[int, int] | None | Literal["unknown"]:
    """The camera's detect resolution in its gateway; None for a camera behind no gateway (a native one:
    its images are whole frames); "unknown" for a gateway's camera mapped without one."""
    row = conn.execute(
        "SELECT detect_width, detect_height FROM gateway_cameras WHERE device_id = %s", (device_id,)
    ).fetchone()
    if row is None:
        return None
    width, height = row["detect_width"], row["detect_height"]
    return "unknown" if width is None or height is None else (int(width), int(height))


# the snapshot box of the object a Frigate snapshot taken at ``at`` shows: an object of that camera and label
# tracked then (the view camera_event_images lists a snapshot up to a minute after its object's end)
SNAPSHOT_BOX_AT = """
SELECT snapshot_box FROM camera_events WHERE device_id = %s AND label = %s AND snapshot_box IS NOT NULL
  AND start_time <= %s + interval '5 seconds' AND coalesce(end_time, 'infinity') >= %s - interval '1 minute'
ORDER BY updated_at DESC LIMIT 1
"""


def image_region(
    conn: psycopg.Connection[Any],
    device_id: str,
    label: str | None,
    image_size: tuple[int, int],
    *,
    at: datetime | None = None,
) -> tuple[Region | WholeFrame | None, tuple[int, int] | None]:
    """(where the image lies in its camera's frame, the frame's size): the whole frame for a camera behind
    no gateway (a native one) or an image with the frame's aspect; a Frigate crop located from the latest
    snapshot box of that camera and label (with ``at``: of an object of that label tracked at that moment, so
    a copy made later is not placed by a later object); None when it cannot be located (a gateway's camera
    mapped without its detect size: its images may be crops, and a mask would land in the wrong place)."""
    frame = detect_size(conn, device_id)
    if frame is None:
        return WHOLE_FRAME, None
    if isinstance(frame, str):  # "unknown"
        return None, None
    (fw, fh), (iw, ih) = frame, image_size
    if abs(iw / ih - fw / fh) <= ASPECT_TOLERANCE * fw / fh:
        return WHOLE_FRAME, frame
    if label is None:
        return None, frame
    box = (
        scalar(conn, SNAPSHOT_BOX_AT, (device_id, label, at, at))
        if at is not None
        else scalar(
            conn,
            "SELECT snapshot_box FROM camera_events WHERE device_id = %s AND label = %s AND snapshot_box IS NOT NULL "
            "ORDER BY updated_at DESC LIMIT 1",
            (device_id, label),
        )
    )
    if box is None:
        return None, frame
    x1, y1, x2, y2 = box
    return snapshot_region(fw, fh, (x1, y1, x2, y2)), frame
