"""The privacy copy of every personal image, made once and stored (docs/incidents.md, "Evidence").

For each personal original waiting for its copy (``media.copy_pending``, migration 0021), a few seconds after it
arrived (so the events that describe it, sent around the same time, are in): the camera's masks, the
boxes of the persons and vehicles its events placed in the frame at that time, and faces and plates
found by OpenCV's Haar cascades (``privacy.py``) make a lossless copy, stored in the media store and
recorded in ``evidence_copies``. Everyone but police is served that copy; police see the original through
an incident.

Boxes are in the camera's detect pixels; a Frigate snapshot may be a crop of the frame around an object
(``core/privacy_masks.image_region``): boxes and masks are mapped into it. A crop that cannot be placed
gets its masks over the whole image and, when its subject is a person or a vehicle, is blurred whole:
privacy first.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import psycopg

from core.errors import first_line
from core.media_store import MediaStore
from core.privacy_masks import WHOLE_FRAME, image_region, masks_of
from device_adapters.masking import WHOLE_IMAGE, Point, Region, polygons_in
from services.evidence.privacy import Box, encode_copy, privacy_copy

logger = logging.getLogger(__name__)

METHOD = "masks+boxes+haar-2026.12.04b"
# labels whose boxes are blurred: people and what carries a number plate (Frigate's and Karroad's names)
PRIVATE_LABELS = ("person", "face", "car", "van", "truck", "bus", "motorcycle", "bicycle", "license_plate")
SETTLE_S = 5.0  # an image is copied once it is this old: the events describing it have had time to arrive
TIME_SLACK = "5 seconds"  # a box counts for an image taken within this of its event's span

# one image per camera in turn (each camera's oldest waiting one, oldest first): a camera sending a burst does
# not make the others' images wait behind all of it
PENDING = """
SELECT m.sha256, m.device_id, m.width, m.height, s.label, s.time FROM (
    SELECT DISTINCT ON (device_id) sha256, device_id, width, height, created_at FROM media
    WHERE copy_pending AND created_at <= now() - make_interval(secs => %(settle)s)
    ORDER BY device_id, created_at
) m
LEFT JOIN LATERAL (
    SELECT e.label, c.time FROM camera_snapshots c LEFT JOIN camera_events e USING (event_id)
    WHERE c.media_sha256 = m.sha256
    UNION ALL
    SELECT l.label, l.time FROM camera_label_snapshots l WHERE l.media_sha256 = m.sha256
    ORDER BY time LIMIT 1
) s ON true
ORDER BY m.created_at LIMIT %(limit)s
"""

BOXES = f"""
SELECT box, snapshot_box FROM camera_events
WHERE device_id = %(device)s AND label = ANY(%(labels)s)
  AND start_time <= %(time)s + interval '{TIME_SLACK}'
  AND coalesce(end_time, 'infinity') >= %(time)s - interval '{TIME_SLACK}'
"""

INSERT_MEDIA = """
INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id, personal)
SELECT %s, 'image/png', %s, %s, %s, family, device_id, false FROM media WHERE sha256 = %s
ON CONFLICT (sha256) DO NOTHING
"""
INSERT_COPY = """
WITH done AS (UPDATE media SET copy_pending = false WHERE sha256 = %s)
INSERT INTO evidence_copies (original_sha256, copy_sha256, device_id, method, masked, boxes, faces, plates, error)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (original_sha256) DO NOTHING
"""


@dataclass(frozen=True)
class Original:
    sha256: str
    device_id: str | None
    width: int | None
    height: int | None
    label: str | None
    time: datetime | None


def pending(conn: psycopg.Connection[Any], limit: int, settle_s: float = SETTLE_S) -> list[Original]:
    rows = conn.execute(PENDING, {"limit": limit, "settle": settle_s}).fetchall()
    return [Original(*(row.values() if isinstance(row, dict) else row)) for row in rows]


def claim(conn: psycopg.Connection[Any], original: Original) -> bool:
    """Inside a transaction: True if this worker may copy ``original`` now (nobody else holds it, and it
    has no copy yet)."""
    locked = conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (original.sha256,)).fetchone()
    if not locked or not locked[0]:
        return False
    done = conn.execute("SELECT 1 FROM evidence_copies WHERE original_sha256 = %s", (original.sha256,)).fetchone()
    return done is None


def _to_image(box: Box, region: Region | None, frame: tuple[int, int] | None, size: tuple[int, int]) -> Box:
    """A box in the camera's detect pixels -> the image's pixels (a resized whole frame, or a crop)."""
    iw, ih = size
    if region is None:
        if frame is None:
            return box  # a native camera: its boxes are its snapshots' pixels
        region = (0, 0, frame[0], frame[1])
    x1, y1, x2, y2 = region
    sx, sy = iw / (x2 - x1), ih / (y2 - y1)
    return (
        round((box[0] - x1) * sx),
        round((box[1] - y1) * sy),
        round((box[2] - x1) * sx),
        round((box[3] - y1) * sy),
    )


def plan(
    conn: psycopg.Connection[Any], original: Original, size: tuple[int, int]
) -> tuple[list[Box], list[list[Point]]]:
    """The boxes to blur and the masks to black out, in the image's own pixels and fractions."""
    if original.device_id is None:
        return [], []
    masks = masks_of(conn, original.device_id)
    region, frame = image_region(conn, original.device_id, original.label, size)
    placed = region if region not in (None, WHOLE_FRAME) else None
    if region is None:  # a crop that cannot be placed: masks over all of it; a person or vehicle blurred whole
        whole = [list(WHOLE_IMAGE)] if masks else []
        subject = [(0, 0, size[0], size[1])] if original.label in PRIVATE_LABELS else []
        return subject, whole
    boxes: list[Box] = []
    if original.time is not None:
        rows = conn.execute(
            BOXES, {"device": original.device_id, "labels": list(PRIVATE_LABELS), "time": original.time}
        ).fetchall()
        for box, snapshot_box in rows:
            for b in (box, snapshot_box):
                if b:
                    boxes.append(_to_image((b[0], b[1], b[2], b[3]), placed, frame, size))  # type: ignore[arg-type]
    placed_masks = masks if placed is None or frame is None else polygons_in(placed, frame, masks)
    return boxes, placed_masks


def make_copy(conn: psycopg.Connection[Any], media: MediaStore, original: Original) -> str | None:
    """Make, store and record the copy of ``original``; returns its hash (None: could not be made, recorded
    with the reason so it is not tried again)."""
    path = media.open(original.sha256)
    image = None if path is None else cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        error = "the original's file is gone" if path is None else "the original could not be decoded"
        conn.execute(
            INSERT_COPY, (original.sha256, original.sha256, None, original.device_id, METHOD, 0, 0, 0, 0, error)
        )
        logger.warning("privacy copy not made", extra={"sha256": original.sha256, "error": error})
        return None
    h, w = image.shape[:2]
    boxes, masks = plan(conn, original, (w, h))
    try:
        copy, report = privacy_copy(image, boxes=boxes, masks=masks)
        data = encode_copy(copy)
    except Exception as exc:  # noqa: BLE001 - this image, not the worker: recorded (``retry_failed`` re-queues)
        error = f"the privacy copy failed: {first_line(exc)}"[:500]
        conn.execute(
            INSERT_COPY, (original.sha256, original.sha256, None, original.device_id, METHOD, 0, 0, 0, 0, error)
        )
        logger.error("privacy copy failed", extra={"sha256": original.sha256, "error": error})
        return None
    sha = hashlib.sha256(data).hexdigest()
    media.put(sha, data)  # the file first: a crash before the rows leaves a file nothing names, never the reverse
    with conn.transaction():
        conn.execute(INSERT_MEDIA, (sha, len(data), w, h, original.sha256))
        conn.execute(
            INSERT_COPY,
            (
                original.sha256,
                original.sha256,
                sha,
                original.device_id,
                METHOD,
                report.masked,
                report.boxes,
                len(report.found.get("face", [])),
                len(report.found.get("plate", [])),
                None,
            ),
        )
    return sha


RETRY_FAILED = """
WITH failed AS (DELETE FROM evidence_copies WHERE copy_sha256 IS NULL RETURNING original_sha256)
UPDATE media m SET copy_pending = true FROM failed f WHERE m.sha256 = f.original_sha256 RETURNING m.sha256
"""


def retry_failed(conn: psycopg.Connection[Any]) -> int:
    """Queue again the images whose copy failed (after a fix, or once their file is back); returns how many."""
    with conn.transaction():
        return len(conn.execute(RETRY_FAILED).fetchall())
