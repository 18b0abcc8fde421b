"""One frame's analysis: whether it can be judged, where the pipe is, then each detector (docs/vision.md).

A frame that shows nothing (too dark, fogged) is a loss of vision and nothing else is looked for in it; a frame
outside what the detectors assume (overexposed, mostly text, no far end seen along the pipe: ``quality.py``) is
not judged, with its reason, and nothing is looked for in it either. The camera's burned-in text and panels
(``overlay.py``) are left out of every detector.
``MODEL`` names this analysis: frames are analysed once per model, and a new model re-analyses on demand.
A deployment's trained model (``TLAB_VISION_MODEL``, ``trained.py``) runs beside the classical detectors
and, by default, replaces them for the codes it maps: ``Analysis.model`` then names both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from core.settings import Settings
from services.vision.cracks import cracks
from services.vision.deformation import deformation
from services.vision.detections import Detection
from services.vision.features import dark_lines, feature_stack
from services.vision.geometry import at_far_end, far_end
from services.vision.intrusions import intrusions
from services.vision.overlay import overlay
from services.vision.quality import Reason, blind_reason, loss_of_vision, unjudgeable
from services.vision.scoring import clock_hours
from services.vision.trained import TrainedModel, load
from services.vision.water import water_level, water_wedge

MODEL = "classical-2026.12.06b"
DEFAULT_DIAMETER_MM = 600  # a mission that did not say its pipe's diameter
ANALYSIS_WIDTH = 640  # larger frames are analysed at this width: the detectors' scale, and a bounded cost
Mode = Literal["replace", "add"]
# one classical detector's three readings of one thing (the grouping joins them): a model that maps one of
# them replaces the three
STANDING = frozenset({"BBA", "BBB", "BBE"})


@dataclass(frozen=True)
class FrameAnalysis:
    """What the analysis says of one frame: its detections, and why it could not judge it (None: judged). A
    frame not judged has no detection but a loss of vision's BDG."""

    detections: list[Detection] = field(default_factory=list)
    not_judged: Reason | None = None


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


class Analysis:
    """What the vision worker runs on each frame, and the name its analyses are stored under."""

    def __init__(self, trained: TrainedModel | None = None, mode: Mode = "replace") -> None:
        self.trained, self.mode = trained, mode

    @property
    def model(self) -> str:
        """``MODEL``, or with a trained model: ``MODEL+onnx-<sha256 prefix>@<its version>/<mode>``."""
        return MODEL if self.trained is None else f"{MODEL}+{self.trained.identity}/{self.mode}"

    def __call__(self, image: np.ndarray, diameter_mm: int | None) -> FrameAnalysis:
        return assess(image, diameter_mm, self.trained, self.mode)


def configured(settings: Settings) -> Analysis:
    """The deployment's analysis (``TLAB_VISION_MODEL``, ``TLAB_VISION_MODEL_MODE``); ``trained.ModelRefused``
    when its model does not meet the contract."""
    model = settings.vision_model
    return Analysis(None if model is None else load(model), settings.vision_model_mode)


def analyse(
    image: np.ndarray, diameter_mm: int | None, trained: TrainedModel | None = None, mode: Mode = "replace"
) -> list[Detection]:
    """The frame's detections (``assess`` says whether it was judged as well)."""
    return assess(image, diameter_mm, trained, mode).detections


def assess(
    image: np.ndarray, diameter_mm: int | None, trained: TrainedModel | None = None, mode: Mode = "replace"
) -> FrameAnalysis:
    blind = loss_of_vision(image)
    if blind is not None:
        return FrameAnalysis([blind], blind_reason(blind))
    burned = overlay(image)
    end = far_end(image, burned.mask)
    # a trained model's boxes are placed around the far end too (clock positions): not judged is for it as well
    reason = unjudgeable(image, burned, end)
    if reason is not None:
        return FrameAnalysis([], reason)
    geometry = at_far_end(end, image.shape, diameter_mm or DEFAULT_DIAMETER_MM)
    stack = feature_stack(image, burned.mask)
    # burned-in text: the overlay's lines and panels, and bright white strokes found at half size (a bright
    # crust's grain has thin bright strokes at full size)
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
    found += seen + standing
    if trained is None:
        return FrameAnalysis(found)
    if mode == "replace":
        replaced = trained.codes | (STANDING if trained.codes & STANDING else frozenset())
        found = [d for d in found if d.code not in replaced]
    return FrameAnalysis(found + trained.detect(image, geometry))
