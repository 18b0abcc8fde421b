"""BDG, loss of vision: a frame too dark or too fogged to see the wall (EN 13508-2 BDG: C steam, Z other).

Exposure and contrast, not this renderer's looks: a dark frame has nothing lit (its 95th percentile of
brightness stays near black); steam or a fogged lens leaves a bright frame with no contrast. Blur is not
judged here: measured on the scene renderer, the sharpness of a clean pipe wall (soft, few edges) and of a
frame behind water drops overlap (docs/vision.md, "Measured"), so a blur test would flag clean frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.vision.detections import Detection

DARK_P95 = 28  # 8-bit brightness: nothing in the frame is lit (a dim dark wall still shows at 36)
FOG_CONTRAST = 30  # p95 - p5: everything within a narrow band of grey...
FOG_MEAN = 110  # ...and that band is bright (steam scatters the lamp's light back): a dim frame is not fog


def loss_of_vision(image: np.ndarray) -> Detection | None:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    p5, p95 = np.percentile(gray[::2, ::2], (5, 95))  # every fourth pixel: the same percentiles, a quarter of the cost
    if p95 < DARK_P95:
        confidence = float(min(1.0, (DARK_P95 - p95) / DARK_P95 + 0.5))
        return Detection("BDG", 12, 12, None, confidence, "Z", "too dark to see the wall")
    contrast = p95 - p5
    if contrast < FOG_CONTRAST and gray[::2, ::2].mean() > FOG_MEAN:
        confidence = float(min(1.0, (FOG_CONTRAST - contrast) / FOG_CONTRAST + 0.5))
        return Detection("BDG", 12, 12, None, confidence, "C", "steam or a fogged lens: no contrast")
    return None
