"""Whether a frame can be judged at all: the gate before the detectors (issue 21, item 2; docs/vision.md).

The detectors assume a forward view along a lit pipe, the far end near the middle, the wall around it. A frame
outside that is **not judged**: it is recorded with its reason and produces no defect, since what a detector
finds there is noise (on real footage, a frame from a manhole chamber or looking at the wall read as cracks
and obstacles). Only a loss of vision is also a code (EN 13508-2 BDG): the inspection has a gap there.

- ``dark`` (BDG Z): nothing lit; its 95th percentile of brightness stays near black.
- ``fog`` (BDG C): steam or a fogged lens, a bright frame with no contrast.
- ``overexposed``: the lamp's glare or a camera's gain saturates a large part of the frame.
- ``text``: mostly the camera's overlay (a title card: pipe, date, operator), little pipe.
- ``no_vanishing_point``: no far end found, or the darkest region runs to the frame's edges (a view of the wall
  or of a connection, a chamber, a camera looking up or down, dark water under a large culvert's arch).

A manhole chamber is not told apart from the rest: its pipe mouth is often dark and enclosed like a far end
(measured: docs/vision.md); the ones whose dark region spreads are ``no_vanishing_point``.

Blur is not judged: measured on the scene renderer, the sharpness of a clean pipe wall (soft, few edges) and of a
frame behind water drops overlap (docs/vision.md, "Measured"), so a blur test would flag clean frames.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from services.vision.detections import Detection
from services.vision.geometry import FarEnd
from services.vision.overlay import Overlay

Reason = Literal["dark", "fog", "overexposed", "text", "no_vanishing_point"]
# what staff read (the API and the report may show a mission's frames not judged, by reason)
REASONS: dict[str, str] = {
    "dark": "trop sombre : la paroi n'est pas éclairée",
    "fog": "buée ou vapeur : aucun contraste",
    "overexposed": "surexposée : l'image est saturée de lumière",
    "text": "surtout du texte incrusté par la caméra",
    "no_vanishing_point": "pas une vue dans l'axe de la conduite : fond de conduite introuvable",
}

DARK_P95 = 28  # 8-bit brightness: nothing in the frame is lit (a dim dark wall still shows at 36)
FOG_CONTRAST = 30  # p95 - p5: everything within a narrow band of grey...
FOG_MEAN = 110  # ...and that band is bright (steam scatters the lamp's light back): a dim frame is not fog
CLIPPED = 250  # 8-bit grey: saturated...
OVEREXPOSED_SHARE = 0.3  # ...over this share of the frame (the real set's worst judged frame: 0.20)
TEXT_ROWS = 0.55  # lines of text (with their margin) cross this share of the rows (real frames, dev: 0.45 at most)


def loss_of_vision(image: np.ndarray) -> Detection | None:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if _overexposed(gray):  # bright without contrast as steam is, but saturated: the camera's, not the pipe's
        return None
    p5, p95 = np.percentile(gray[::2, ::2], (5, 95))  # every fourth pixel: the same percentiles, a quarter of the cost
    if p95 < DARK_P95:
        confidence = float(min(1.0, (DARK_P95 - p95) / DARK_P95 + 0.5))
        return Detection("BDG", 12, 12, None, confidence, "Z", "too dark to see the wall")
    contrast = p95 - p5
    if contrast < FOG_CONTRAST and gray[::2, ::2].mean() > FOG_MEAN:
        confidence = float(min(1.0, (FOG_CONTRAST - contrast) / FOG_CONTRAST + 0.5))
        return Detection("BDG", 12, 12, None, confidence, "C", "steam or a fogged lens: no contrast")
    return None


def _overexposed(gray: np.ndarray) -> bool:
    return float((gray[::2, ::2] >= CLIPPED).mean()) > OVEREXPOSED_SHARE


def blind_reason(blind: Detection) -> Reason:
    """The not-judged reason of a loss of vision (``loss_of_vision``'s BDG)."""
    return "fog" if blind.characterisation == "C" else "dark"


def unjudgeable(image: np.ndarray, overlay: Overlay, end: FarEnd) -> Reason | None:
    """Why the detectors cannot judge this (lit, contrasted) frame, or None: they can. ``overlay``: the
    camera's text and panels (``overlay.overlay``); ``end``: the far end found (``geometry.far_end``)."""
    if _overexposed(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image):
        return "overexposed"
    if overlay.text_rows > TEXT_ROWS:
        return "text"
    if not end.found or not end.enclosed:
        return "no_vanishing_point"
    return None
