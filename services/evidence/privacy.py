"""What everyone but police sees of a camera snapshot: private areas blacked out, persons and vehicles
blurred from the boxes the camera sent, faces and number plates blurred where OpenCV's Haar cascades find
them (OpenCV 4.x ships them: ``cv2.data.haarcascades``). Nobody is identified: the cascades only say
"a face-like / plate-like region here", nothing is compared with anything, and the plate text Frigate read
is never drawn.

Pure functions on decoded images (BGR arrays). Order matters: masks first (a private window is black in
every copy, before any detector looks at it), then the boxes, then the detectors on what is left. Pixels
outside the masks, the boxes and the detections are left exactly as they were: the copy is kept losslessly
(``encode_copy``), so a comparison with the original shows where, and only where, it was changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from device_adapters.masking import Polygon, black_out

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in the image's pixels

CASCADES = {
    "face": ("haarcascade_frontalface_default.xml", 1.1, 5, (24, 24)),
    "plate": ("haarcascade_russian_plate_number.xml", 1.1, 4, (40, 12)),
}
BLUR_PAD = 0.1  # a box is widened by this share of its size on each side: boxes are tight
PIXEL_BLOCK = 12  # pixelated to blocks this large (at least), then blurred: unreadable, not reversible
DETECT_SIDE = 1920  # the cascades look at images scaled down to this longest side: a 12-megapixel image a
# camera may send costs what a full-HD one does (docs/benchmarks.md), not six times as much
BLOCKS_ACROSS = 4  # ...or to this many blocks across the region's short side, whichever blocks are larger
BLUR_CELL = 8  # pixels per block where the blocks are blurred (then scaled to the box)


@dataclass(frozen=True)
class PrivacyReport:
    masked: int = 0
    boxes: int = 0
    found: dict[str, list[Box]] = field(default_factory=dict)


def blur_boxes(image: np.ndarray, boxes: Sequence[Box], pad: float = BLUR_PAD) -> np.ndarray:
    """A copy with each box (widened by ``pad``) pixelated and blurred; pixels outside untouched."""
    out = image.copy()
    h, w = out.shape[:2]
    for box in boxes:
        left, top, right, bottom = _padded(box, (h, w), pad)
        if right - left < 2 or bottom - top < 2:
            continue
        region = out[top:bottom, left:right]
        # blocks of at least a quarter of the region's short side: a face pixelated at 12 px blocks was still
        # a face to the frontal-face cascade (a test), and so, for some sizes, was one at six blocks blurred
        # by a block; what is still found after the blur is filled flat (``privacy_copy``)
        block = max(PIXEL_BLOCK, min(right - left, bottom - top) // BLOCKS_ACROSS)
        cells = (max(1, (right - left) // block), max(1, (bottom - top) // block))
        small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
        # the blocks blurred by a block, computed on blocks of BLUR_CELL pixels and scaled up: the same smear
        # as blurring the full-size blocks, at a cost that does not grow with the box (a van filling a
        # 12-megapixel frame took seconds with a Gaussian of its own block size: docs/benchmarks.md)
        blocky = cv2.resize(small, (cells[0] * BLUR_CELL, cells[1] * BLUR_CELL), interpolation=cv2.INTER_NEAREST)
        smeared = cv2.GaussianBlur(blocky, (0, 0), BLUR_CELL)
        out[top:bottom, left:right] = cv2.resize(smeared, (right - left, bottom - top), interpolation=cv2.INTER_LINEAR)
    return out


_loaded: dict[str, cv2.CascadeClassifier] = {}


def find(image: np.ndarray, what: str) -> list[Box]:
    """Face-like or plate-like regions (``what``: face, plate) by OpenCV's Haar cascade: boxes, no identity."""
    name, scale, neighbours, smallest = CASCADES[what]
    if what not in _loaded:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {name} is missing: opencv-python(-headless) 4.x ships it, 5.0 does not")
        _loaded[what] = cascade
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    shrink = min(1.0, DETECT_SIDE / max(gray.shape[:2]))
    if shrink < 1.0:
        gray = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    found = _loaded[what].detectMultiScale(
        cv2.equalizeHist(gray), scaleFactor=scale, minNeighbors=neighbours, minSize=smallest
    )
    return [
        (int(x / shrink), int(y / shrink), int((x + w) / shrink + 0.999), int((y + h) / shrink + 0.999))
        for x, y, w, h in found
    ]


def privacy_copy(
    image: np.ndarray, *, boxes: Sequence[Box] = (), masks: Sequence[Polygon] = ()
) -> tuple[np.ndarray, PrivacyReport]:
    """Masks, then the camera's person and vehicle boxes, then faces and plates found in what is left."""
    masked = black_out(image, masks)
    blurred = blur_boxes(masked, boxes)
    found = {what: find(blurred, what) for what in CASCADES}
    out = blur_boxes(blurred, [b for regions in found.values() for b in regions])
    for what, regions in found.items():  # checked: a blurred face or plate the cascade still finds is filled flat
        for box in regions:
            left, top, right, bottom = _padded(box, out.shape[:2], BLUR_PAD)
            margin = max(right - left, bottom - top) // 2
            around = _padded((left, top, right, bottom), out.shape[:2], 0.0, margin)
            if find(out[around[1] : around[3], around[0] : around[2]], what):
                out[top:bottom, left:right] = out[top:bottom, left:right].mean(axis=(0, 1)).astype(out.dtype)
    return out, PrivacyReport(masked=len(masks), boxes=len(boxes), found=found)


def _padded(box: Box, shape: tuple[int, int], pad: float, extra: int = 0) -> Box:
    """``box`` widened by ``pad`` of its size and ``extra`` pixels on each side, clipped to the image."""
    h, w = shape
    x1, y1, x2, y2 = box
    dx, dy = int((x2 - x1) * pad) + extra, int((y2 - y1) * pad) + extra
    return max(0, min(w, x1 - dx)), max(0, min(h, y1 - dy)), max(0, min(w, x2 + dx)), max(0, min(h, y2 + dy))


def encode_copy(image: np.ndarray) -> bytes:
    """Lossless (PNG): outside what was changed, the copy's pixels are the decoded original's."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("the copy could not be encoded")
    return buf.tobytes()
