"""Privacy masks: polygons over what a camera must not show (a private window, a garden), blacked out of
every image the device sends before it is stored (docs/incidents.md). Pure: no I/O.

A polygon's points are fractions of the frame's width and height (0-1), as in Frigate's masks, so one
mask fits every resolution the camera sends (a full frame, a resized one). Frigate writes a mask as
``x1,y1,x2,y2,...``: ``parse_polygon`` reads that text, so a city's Frigate masks can be copied as they are.
Snapshots Frigate crops around an object (docs/incidents.md) are not full frames: a frame mask applies to
them only through the crop, which the privacy copy knows and ingest does not (see ``services/evidence``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

from device_adapters.contract import MediaBlob

Point = tuple[float, float]
Polygon = Sequence[Point]
MAX_POLYGONS = 16
MAX_POINTS = 64
JPEG_QUALITY = 95  # a masked image is encoded again: close to the original, black where masked


class MaskError(ValueError):
    pass


def parse_polygon(text: str) -> tuple[Point, ...]:
    """``"0.1,0.2,0.4,0.2,0.4,0.6"`` (Frigate's relative mask coordinates) -> points; refuses with why."""
    try:
        values = [float(v) for v in text.replace(" ", ",").split(",") if v]
    except ValueError as exc:
        raise MaskError(f"a polygon is numbers x1,y1,x2,y2,... between 0 and 1, got {text!r}") from exc
    if len(values) % 2:
        raise MaskError(f"a polygon needs as many y as x values, got {len(values)} numbers")
    return check_polygon(list(zip(values[::2], values[1::2], strict=True)))


def check_polygon(points: Sequence[Sequence[float]]) -> tuple[Point, ...]:
    if not 3 <= len(points) <= MAX_POINTS:
        raise MaskError(f"a polygon has 3 to {MAX_POINTS} points, got {len(points)}")
    out = []
    for point in points:
        if len(point) != 2 or not all(isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in point):
            raise MaskError(f"a point is [x, y] in fractions of the frame (0 to 1), got {list(point)!r}")
        out.append((float(point[0]), float(point[1])))
    return tuple(out)


def check_polygons(polygons: Sequence[Sequence[Sequence[float]]]) -> tuple[tuple[Point, ...], ...]:
    if len(polygons) > MAX_POLYGONS:
        raise MaskError(f"at most {MAX_POLYGONS} polygons per device, got {len(polygons)}")
    return tuple(check_polygon(p) for p in polygons)


def black_out(image: np.ndarray, masks: Sequence[Polygon]) -> np.ndarray:
    """A copy with each polygon (fractions of the frame) filled black."""
    out = image.copy()
    h, w = out.shape[:2]
    for polygon in masks:
        points = np.array([[round(x * (w - 1)), round(y * (h - 1))] for x, y in polygon], np.int32)
        if len(points) >= 3:
            cv2.fillPoly(out, [points], (0, 0, 0))
    return out


def mask_jpeg(blob: MediaBlob, masks: Sequence[Polygon]) -> MediaBlob:
    """The blob with ``masks`` blacked out (a new JPEG, a new hash); the same blob when there are none.
    The blob was checked by ``validation.jpeg_blob`` (bounded, decodable)."""
    if not masks:
        return blob
    image = cv2.imdecode(np.frombuffer(blob.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:  # checked before; kept so a failure here is a clear error, not a None deep inside
        raise MaskError("the image could not be decoded to apply the privacy masks")
    ok, buf = cv2.imencode(".jpg", black_out(image, masks), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise MaskError("the masked image could not be encoded")
    data = buf.tobytes()
    h, w = image.shape[:2]
    return MediaBlob(hashlib.sha256(data).hexdigest(), "image/jpeg", data, width=w, height=h)


Region = tuple[int, int, int, int]  # x1, y1, x2, y2: the part of the camera's frame an image shows


def polygons_in(region: Region, frame_size: tuple[int, int], masks: Sequence[Polygon]) -> list[list[Point]]:
    """Frame masks (fractions of the whole frame) as fractions of an image showing only ``region`` of it
    (resized, aspect kept): points outside the image fall outside 0-1, and filling clips them."""
    fw, fh = frame_size
    x1, y1, x2, y2 = region
    return [[((x * fw - x1) / (x2 - x1), (y * fh - y1) / (y2 - y1)) for x, y in polygon] for polygon in masks]


WHOLE_IMAGE: tuple[Point, ...] = ((-0.01, -0.01), (1.01, -0.01), (1.01, 1.01), (-0.01, 1.01))
