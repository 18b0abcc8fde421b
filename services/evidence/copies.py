"""The privacy copy of every personal image, made for its whole context and stored (docs/incidents.md, "Evidence").

For each personal original waiting for its copy (``media.copy_pending``, migration 0021), a few seconds after it
arrived (so the events that describe it, sent around the same time, are in): for every camera, event and label
that names the image (the same JPEG may come from two gateways), that camera's masks and the boxes of the
persons and vehicles its events placed in the frame at that time; then faces and plates found by OpenCV's Haar
cascades (``privacy.py``). The copy is lossless, stored in the media store and recorded in ``evidence_copies``
with what it was made with (``made_with``). Everyone but police is served that copy; police see the original
through an incident.

The copy fails closed (issue 19, item 3):
- an image published as a picture of a person or a vehicle (its Frigate topic's label, or its event's) whose
  box cannot be placed in it (no such object tracked when it was taken, a box outside the image, a crop that
  cannot be located) is blurred whole; so is a snapshot naming an event that is not stored (yet);
- when the image gains a context (another camera or event names it, an event's box or span changes, a mask,
  a detect size: the camera capability's triggers, migration camera_detections_0009) it is queued again and
  its copy withdrawn at once (the API says ``pending``); the new copy blurs what the old one did plus what the
  new context adds (a box that was right when the image was taken is never dropped because the object moved
  since); a copy that would gain nothing is restored as it was. A copy made while the context changed under
  it is not recorded (``media.context_version``).

Boxes are in the camera's detect pixels; a snapshot may be a crop of the frame around an object (as Frigate
cuts them: ``device_adapters/capabilities/camera_detections/geometry.py``, ``core/privacy_masks.image_region``):
boxes and masks are mapped into it. Every camera family's images are copied alike: they are in the capability's
tables (``Capability.CAMERA_DETECTIONS``), whichever vendor sent them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from core.db import scalar
from core.errors import first_line
from core.media_store import MediaStore, delete_if_unnamed
from core.privacy_masks import WHOLE_FRAME, image_region, masks_of
from device_adapters.capabilities.camera_detections.geometry import snapshot_region
from device_adapters.capabilities.camera_detections.records import PRIVATE_LABELS
from device_adapters.masking import WHOLE_IMAGE, Point, Region, polygons_in
from services.evidence.privacy import Box, encode_copy, privacy_copy
from services.evidence.retention import unreferenced_media

logger = logging.getLogger(__name__)

METHOD = "context+masks+boxes+haar-2026.12.06"
SETTLE_S = 5.0  # an image is copied once it is this old: the events describing it have had time to arrive
TIME_SLACK = "5 seconds"  # a box counts for an image taken within this of its event's span
INSIDE = 0.5  # the subject's box must lie at least this much inside the image to be placed

# one image per camera in turn (each camera's oldest waiting one, oldest first): a camera sending a burst does
# not make the others' images wait behind it
PENDING = """
SELECT m.sha256, m.device_id, m.width, m.height, s.label, s.time FROM (
    SELECT DISTINCT ON (device_id) sha256, device_id, width, height, created_at FROM media
    WHERE copy_pending AND created_at <= now() - make_interval(secs => %(settle)s)
    ORDER BY device_id, created_at
) m
LEFT JOIN LATERAL (
    SELECT e.label, c.time FROM camera_snapshots c
    LEFT JOIN camera_events e ON e.event_id = c.event_id AND e.device_id = c.device_id
    WHERE c.media_sha256 = m.sha256
    UNION ALL
    SELECT l.label, l.time FROM camera_label_snapshots l WHERE l.media_sha256 = m.sha256
    ORDER BY time LIMIT 1
) s ON true
ORDER BY m.created_at LIMIT %(limit)s
"""

# every camera, event and label that names the image: each is a context the copy must cover
APPEARANCES = """
SELECT s.device_id, e.label, s.time, true AS named, e.box, e.snapshot_box FROM camera_snapshots s
LEFT JOIN camera_events e ON e.event_id = s.event_id AND e.device_id = s.device_id
WHERE s.media_sha256 = %(sha)s
UNION ALL
SELECT l.device_id, l.label, l.time, false, NULL, NULL FROM camera_label_snapshots l WHERE l.media_sha256 = %(sha)s
"""

BOXES = f"""
SELECT label, box, snapshot_box FROM camera_events
WHERE device_id = %(device)s AND label = ANY(%(labels)s)
  AND start_time <= %(time)s + interval '{TIME_SLACK}'
  AND coalesce(end_time, 'infinity') >= %(time)s - interval '{TIME_SLACK}'
"""

CURRENT = """
SELECT m.context_version, c.made_with, c.superseded_sha256 FROM media m
LEFT JOIN evidence_copies c ON c.original_sha256 = m.sha256 WHERE m.sha256 = %s
"""
# the copy is recorded only if the image's context has not changed since it was read (the row lock also
# orders this write with a trigger queuing the image again: whichever commits second sees the other)
SETTLE = "UPDATE media SET copy_pending = false WHERE sha256 = %s AND context_version = %s RETURNING 1"
INSERT_MEDIA = """
INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id, personal)
SELECT %s, 'image/png', %s, %s, %s, family, device_id, false FROM media WHERE sha256 = %s
ON CONFLICT (sha256) DO UPDATE SET personal = false WHERE media.content_type = 'image/png'
"""
RECORD = """
INSERT INTO evidence_copies (original_sha256, copy_sha256, device_id, method, masked, boxes, faces, plates, error,
    made_with, superseded_sha256)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)
ON CONFLICT (original_sha256) DO UPDATE SET copy_sha256 = EXCLUDED.copy_sha256, device_id = EXCLUDED.device_id,
    method = EXCLUDED.method, masked = EXCLUDED.masked, boxes = EXCLUDED.boxes, faces = EXCLUDED.faces,
    plates = EXCLUDED.plates, error = EXCLUDED.error, made_with = EXCLUDED.made_with, superseded_sha256 = NULL,
    made_at = now()
"""
RESTORE = """
WITH shown AS (UPDATE media SET personal = false WHERE sha256 = %(copy)s AND content_type = 'image/png')
UPDATE evidence_copies SET copy_sha256 = superseded_sha256, superseded_sha256 = NULL
WHERE original_sha256 = %(sha)s
"""


class Stale(Exception):
    """The image's context changed while its copy was being made: it is queued again, nothing recorded."""


@dataclass(frozen=True)
class Original:
    sha256: str
    device_id: str | None
    width: int | None
    height: int | None
    label: str | None
    time: datetime | None


@dataclass(frozen=True)
class Plan:
    """What a copy is made with, in the image's own pixels and fractions: the boxes to blur, the masks to black
    out, and whether the whole image is blurred (a subject that cannot be placed)."""

    size: tuple[int, int]
    boxes: frozenset[Box] = frozenset()
    masks: frozenset[tuple[Point, ...]] = frozenset()
    whole: bool = False

    def merged(self, previous: Plan | None) -> Plan:
        """This plan plus what ``previous`` blurred and masked (same image): a copy made again never shows
        what an earlier one hid because an object moved or a mask was removed since."""
        if previous is None or previous.size != self.size:
            return self
        return Plan(self.size, self.boxes | previous.boxes, self.masks | previous.masks, self.whole)

    def blurred(self) -> list[Box]:
        return [(0, 0, *self.size)] if self.whole else sorted(self.boxes)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "boxes": sorted(list(b) for b in self.boxes),
            "masks": sorted([list(p) for p in m] for m in self.masks),
            "whole": self.whole,
        }

    @classmethod
    def from_json(cls, data: Any) -> Plan | None:
        if not isinstance(data, dict):
            return None
        try:
            size = (int(data["size"][0]), int(data["size"][1]))
            boxes = frozenset((int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in data["boxes"])
            masks = frozenset(tuple((float(x), float(y)) for x, y in m) for m in data["masks"])
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        return cls(size, boxes, masks, bool(data.get("whole")))


def pending(conn: psycopg.Connection[Any], limit: int, settle_s: float = SETTLE_S) -> list[Original]:
    rows = conn.execute(PENDING, {"limit": limit, "settle": settle_s}).fetchall()
    return [Original(**row) for row in rows]


def claim(conn: psycopg.Connection[Any], original: Original) -> bool:
    """Inside a transaction: True if this worker may copy ``original`` now (nobody else holds it, and it
    still waits for its copy)."""
    if not scalar(conn, "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (original.sha256,)):
        return False
    waiting = conn.execute("SELECT 1 FROM media WHERE sha256 = %s AND copy_pending", (original.sha256,)).fetchone()
    return waiting is not None


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


def clipped(box: Box, size: tuple[int, int]) -> Box | None:
    """The part of ``box`` inside the image (None: nothing of it)."""
    x1, y1, x2, y2 = max(0, box[0]), max(0, box[1]), min(size[0], box[2]), min(size[1], box[3])
    return (x1, y1, x2, y2) if x2 - x1 >= 1 and y2 - y1 >= 1 else None


def mostly_inside(box: Box, size: tuple[int, int]) -> bool:
    """The box lies at least ``INSIDE`` in the image, and is not a sliver: it can stand for a subject."""
    inner = clipped(box, size)
    area = (box[2] - box[0]) * (box[3] - box[1])
    if inner is None or area <= 0:
        return False
    inside = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return inside >= INSIDE * area and min(inner[2] - inner[0], inner[3] - inner[1]) >= 2


def context_plan(
    label: str | None, placeable: bool, boxes: Sequence[tuple[str, Box]], size: tuple[int, int]
) -> tuple[frozenset[Box], bool]:
    """(the boxes to blur, whether to blur the whole image) for one context of an image (pure): ``label`` is
    what the image is published as (None: unknown, its event is not stored), ``placeable`` whether the image
    could be located in its camera's frame, ``boxes`` the private-label boxes of the camera's objects tracked
    then, already in the image's pixels. Fails closed: a picture of a person or vehicle, or of something
    unknown, whose box cannot be placed in it is blurred whole; so is a crop that cannot be located while
    persons or vehicles were tracked."""
    if not placeable:
        return frozenset(), label is None or label in PRIVATE_LABELS or bool(boxes)
    inside = frozenset(c for _, b in boxes if (c := clipped(b, size)) is not None)
    if label is None:
        return inside, True
    if label in PRIVATE_LABELS and not any(other == label and mostly_inside(b, size) for other, b in boxes):
        return inside, True
    return inside, False


def plan(conn: psycopg.Connection[Any], sha256: str, size: tuple[int, int]) -> Plan:
    """The boxes to blur and the masks to black out for every context of the image, in its own pixels."""
    appearances = conn.execute(APPEARANCES, {"sha": sha256}).fetchall()
    if not appearances:  # named by nothing (its rows purged or refused): nothing can say what it shows
        return Plan(size, whole=True)
    boxes: set[Box] = set()
    masks: set[tuple[Point, ...]] = set()
    whole = False
    for seen in appearances:
        device_id, label, time, named = seen["device_id"], seen["label"], seen["time"], seen["named"]
        own_box, own_snapshot_box = seen["box"], seen["snapshot_box"]
        camera_masks = masks_of(conn, device_id)
        region, frame = image_region(conn, device_id, label, size, at=time)
        if named and own_snapshot_box and frame is not None and region not in (None, WHOLE_FRAME):
            region = snapshot_region(frame[0], frame[1], tuple(own_snapshot_box))  # type: ignore[arg-type]
        placed = region if region not in (None, WHOLE_FRAME) else None
        found: list[tuple[str, Box]] = []
        if region is not None:
            rows = conn.execute(BOXES, {"device": device_id, "labels": list(PRIVATE_LABELS), "time": time}).fetchall()
            if named and label in PRIVATE_LABELS and own_box:
                rows.append({"label": label, "box": own_box, "snapshot_box": own_snapshot_box})
            for r in rows:
                for b in (r["box"], r["snapshot_box"]):
                    if b:
                        found.append((r["label"], _to_image((b[0], b[1], b[2], b[3]), placed, frame, size)))
        elif label is not None:  # a crop that cannot be located: were persons or vehicles tracked then?
            rows = conn.execute(BOXES, {"device": device_id, "labels": list(PRIVATE_LABELS), "time": time}).fetchall()
            found = [(r["label"], (0, 0, 0, 0)) for r in rows]
        these, blur_all = context_plan(label, region is not None, found, size)
        boxes |= these
        whole = whole or blur_all
        if region is None:
            if camera_masks:
                masks.add(tuple(WHOLE_IMAGE))
        else:
            mapped = camera_masks if placed is None or frame is None else polygons_in(placed, frame, camera_masks)
            masks |= {tuple((round(x, 6), round(y, 6)) for x, y in polygon) for polygon in mapped}
    return Plan(size, frozenset(boxes), frozenset(masks), whole)


@dataclass
class Outcome:
    copy_sha256: str | None = None
    retired: list[str] = field(default_factory=list)  # withdrawn copies whose files go after the commit


def make_copy(conn: psycopg.Connection[Any], media: MediaStore, original: Original) -> str | None:
    """Make, store and record the copy of ``original``; returns its hash (None: could not be made, recorded with
    the reason so it is not tried again). Raises ``Stale`` when the image's context changed meanwhile."""
    outcome = make_copy_outcome(conn, media, original)
    remove_files(conn, media, outcome.retired)
    return outcome.copy_sha256


def remove_files(conn: psycopg.Connection[Any], media: MediaStore, shas: Sequence[str]) -> None:
    """Delete retired copies' files, each claimed first: a row naming the same bytes again keeps it."""
    for sha in shas:
        delete_if_unnamed(conn, media, sha)


def make_copy_outcome(conn: psycopg.Connection[Any], media: MediaStore, original: Original) -> Outcome:
    """``make_copy`` inside the caller's transaction: the withdrawn copy it deleted (``retired``) loses its
    file only after the caller commits."""
    current = conn.execute(CURRENT, (original.sha256,)).fetchone()
    version = current["context_version"] if current else 0
    made_with = current["made_with"] if current else None
    superseded = current["superseded_sha256"] if current else None
    previous = Plan.from_json(made_with)
    if superseded is not None and previous is not None and original.width and original.height:
        size = (original.width, original.height)
        if plan(conn, original.sha256, size).merged(previous) == previous:  # nothing gained: it stands again
            _settle(conn, original, version)
            conn.execute(RESTORE, {"copy": superseded, "sha": original.sha256})
            return Outcome(superseded)
    path = media.open(original.sha256)
    image = None if path is None else cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        error = "the original's file is gone" if path is None else "the original could not be decoded"
        _settle(conn, original, version)
        conn.execute(RECORD, (original.sha256, None, original.device_id, METHOD, 0, 0, 0, 0, error, None))
        logger.warning("privacy copy not made", extra={"sha256": original.sha256, "error": error})
        return Outcome(None, unreferenced_media(conn, [superseded]) if superseded else [])
    h, w = image.shape[:2]
    wanted = plan(conn, original.sha256, (w, h)).merged(previous)
    if superseded is not None and previous is not None and wanted == previous:  # nothing gained: it stands again
        _settle(conn, original, version)
        conn.execute(RESTORE, {"copy": superseded, "sha": original.sha256})
        return Outcome(superseded)
    try:
        copy, report = privacy_copy(image, boxes=wanted.blurred(), masks=[list(m) for m in sorted(wanted.masks)])
        data = encode_copy(copy)
    except Exception as exc:  # noqa: BLE001 - this image, not the worker: recorded (``retry_failed`` re-queues)
        error = f"the privacy copy failed: {first_line(exc)}"[:500]
        _settle(conn, original, version)
        conn.execute(RECORD, (original.sha256, None, original.device_id, METHOD, 0, 0, 0, 0, error, None))
        logger.error("privacy copy failed", extra={"sha256": original.sha256, "error": error})
        return Outcome(None, unreferenced_media(conn, [superseded]) if superseded else [])
    sha = hashlib.sha256(data).hexdigest()
    media.put(sha, data)  # the file first: a crash before the rows leaves a file nothing names, never the reverse
    try:
        with conn.transaction():
            _settle(conn, original, version)
            conn.execute(INSERT_MEDIA, (sha, len(data), w, h, original.sha256))
            conn.execute(
                RECORD,
                (
                    original.sha256,
                    sha,
                    original.device_id,
                    METHOD,
                    report.masked,
                    report.boxes,
                    len(report.found.get("face", [])),
                    len(report.found.get("plate", [])),
                    None,
                    Jsonb(wanted.to_json()),
                ),
            )
    except Stale:
        if not conn.execute("SELECT 1 FROM media WHERE sha256 = %s", (sha,)).fetchone():
            path = media.open(sha)
            if path is not None:
                path.unlink(missing_ok=True)
        raise
    retired = unreferenced_media(conn, [superseded]) if superseded and superseded != sha else []
    return Outcome(sha, retired)


def _settle(conn: psycopg.Connection[Any], original: Original, version: int) -> None:
    if conn.execute(SETTLE, (original.sha256, version)).fetchone() is None:
        raise Stale(original.sha256)


RETRY_FAILED = "SELECT original_sha256 FROM evidence_copies WHERE error IS NOT NULL"


def retry_failed(conn: psycopg.Connection[Any]) -> int:
    """Queue again the images whose copy failed (after a fix, or once their file is back); returns how many."""
    with conn.transaction():
        failed = [r["original_sha256"] for r in conn.execute(RETRY_FAILED).fetchall()]
        conn.execute("SELECT evidence_requeue(%s)", (failed,))
        return len(failed)
