"""Per-pixel features shared by the detectors that compare regions by look: L, a, b and fine texture.

Computed once per frame (they are the costliest step after decoding) and unrolled by each detector around
the vanishing point as it needs.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.vision.geometry import FrameGeometry

TEXTURE_SIGMA = 1.0  # texture (at half size)
OVERLAY_CONTRAST = 60  # 8-bit: a text stroke is this much brighter than its 5 px surroundings...
OVERLAY_BRIGHT = 170  # ...and this bright: how far each pixel's lightness is from its neighbourhood's (px)


def feature_stack(image: np.ndarray) -> np.ndarray:
    """float32 H/2 x W/2 x 5: L, a, b (OpenCV's 8-bit Lab scale), texture and text overlay, at half the frame's size
    (regions are compared, not lines: a quarter of the pixels tells the same, at a quarter of the cost);
    ``on_stack`` scales a frame's geometry to it."""
    half = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(half, cv2.COLOR_BGR2LAB)
    lightness = lab[..., 0].astype(np.float32)
    texture = cv2.absdiff(lightness, cv2.GaussianBlur(lightness, (0, 0), TEXTURE_SIGMA))
    return cv2.merge([lab.astype(np.float32), texture, overlay_mask(half)])


def overlay_mask(image: np.ndarray) -> np.ndarray:
    """float32 1 where text is burned into the frame (chainage, date, mission: every CCTV camera writes
    some), 0 elsewhere: thin bright strokes, much brighter than what is around them, and a margin around
    them. Not the pipe: the detectors that compare regions leave it out."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    strokes = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, np.ones((5, 5), np.uint8))
    text = ((strokes > OVERLAY_CONTRAST) & (gray > OVERLAY_BRIGHT)).astype(np.uint8)
    return cv2.dilate(text, np.ones((7, 7), np.uint8)).astype(np.float32)


def on_stack(geometry: FrameGeometry, image: np.ndarray, stack: np.ndarray) -> FrameGeometry:
    """The frame's geometry in the stack's pixels."""
    return geometry.scaled(stack.shape[1] / image.shape[1])
