"""Image helpers for families' simulators: JPEG encoding as a camera would (OpenCV, pure: no I/O)."""

from __future__ import annotations

import cv2
import numpy as np


def encode_jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV's JPEG encoder does not fail on uint8 BGR images
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
