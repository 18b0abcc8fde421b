"""The annotated copy of an observation's best frame: its region outlined, its code written beside it.

A new JPEG, stored as a medium of its own (content-addressed, like every frame); the original frame is
never altered. Drawn for people (the review screen, the report), so the outline is the detector's region
(an annular sector of the near ring) and the label says code, clock and grade.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

from services.vision.analysis import ANALYSIS_WIDTH

COLOUR = (0, 220, 255)  # amber: visible on grey, brown and green walls alike


def annotate(jpeg: bytes, outline: Sequence[Sequence[int]], label: str) -> tuple[bytes, str, int, int] | None:
    """(JPEG bytes, sha256, width, height) of the annotated copy; None if the frame cannot be decoded."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    scale = image.shape[1] / min(ANALYSIS_WIDTH, image.shape[1])  # outlines are in the analysed frame's pixels
    if len(outline) >= 3:
        points = (np.array(outline, np.float32) * scale).astype(np.int32)
        cv2.polylines(image, [points], isClosed=True, color=COLOUR, thickness=max(2, int(2 * scale)))
        x, y = int(points[:, 0].min()), int(points[:, 1].min())
    else:
        x, y = 12, 40
    x, y = min(max(4, x), image.shape[1] - 200), min(max(24, y - 8), image.shape[0] - 8)
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, 2)
    cv2.rectangle(image, (x - 3, y - th - 6), (x + tw + 3, y + 4), (0, 0, 0), -1)
    cv2.putText(image, label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, COLOUR, 2, cv2.LINE_AA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:  # pragma: no cover - encoding a decoded BGR image does not fail
        return None
    data = buf.tobytes()
    return data, hashlib.sha256(data).hexdigest(), image.shape[1], image.shape[0]
