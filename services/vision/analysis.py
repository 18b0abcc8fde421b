"""One frame's analysis: where the pipe is, then each detector (docs/vision.md).

A frame that shows nothing (too dark, fogged) is a loss of vision and nothing else is looked for in it.
``MODEL`` names this analysis: frames are analysed once per model, and a new model re-analyses on demand.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.vision.cracks import cracks
from services.vision.deformation import deformation
from services.vision.detections import Detection
from services.vision.features import dark_lines, feature_stack
from services.vision.geometry import locate
from services.vision.intrusions import intrusions
from services.vision.quality import loss_of_vision
from services.vision.scoring import clock_hours
from services.vision.water import water_level, water_wedge

MODEL = "classical-2026.11.29e"
DEFAULT_DIAMETER_MM = 600  # a mission that did not say its pipe's diameter
ANALYSIS_WIDTH = 640  # larger frames are analysed at this width: the detectors' scale, and a bounded cost


class UnreadableFrame(ValueError):
    """The bytes are not an image OpenCV can decode (ingest checked the JPEG's structure, not its pixels)."""


def decode(jpeg: bytes) -> np.ndarray:
    """The frame, at most ``ANALYSIS_WIDTH`` wide (ingest bounds what a device may send to 4096 px a side;
    a 12-megapixel frame would cost the worker twenty times a 640 px one and tell it nothing more)."""
    try:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) if jpeg else None
    except cv2.error as exc:
        raise UnreadableFrame(f"OpenCV could not decode it: {str(exc).strip().splitlines()[-1][:200]}") from exc
    if image is None or image.shape[0] < 64 or image.shape[1] < 64:
        raise UnreadableFrame("not a decodable image of at least 64x64 pixels")
    if image.shape[1] > ANALYSIS_WIDTH:
        height = round(image.shape[0] * ANALYSIS_WIDTH / image.shape[1])
        image = cv2.resize(image, (ANALYSIS_WIDTH, height), interpolation=cv2.INTER_AREA)
    return image


def analyse(image: np.ndarray, diameter_mm: int | None) -> list[Detection]:
    blind = loss_of_vision(image)
    if blind is not None:
        return [blind]
    geometry = locate(image, diameter_mm or DEFAULT_DIAMETER_MM)
    stack = feature_stack(image)
    # burned-in text, found at half size (a bright crust's grain has thin bright strokes at full size)
    text = cv2.resize(stack[..., 4], (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    lines = dark_lines(image, text)
    level = water_level(image, geometry, stack)  # the invert's level surface: water (BDD) or settled deposits (BBC)
    wedge = water_wedge(level)
    found = [level] if level is not None else []
    squeezed = deformation(image, geometry, wedge, lines)
    if squeezed is not None:
        found.append(squeezed)
    standing = intrusions(image, geometry, wedge, stack)
    # the edges and strands of what stands on the wall are thin dark lines too: not cracks
    taken = set().union(*(clock_hours(d.clock_from, d.clock_to) for d in standing))
    seen = [d for d in cracks(image, geometry, wedge, lines) if not clock_hours(d.clock_from, d.clock_to) & taken]
    if squeezed is not None:  # a deformed joint wanders out of the cracks' joint band: its arcs are not cracks
        seen = [d for d in seen if d.characterisation == "A"]
    return found + seen + standing
