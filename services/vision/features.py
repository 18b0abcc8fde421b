"""Per-pixel features shared by the detectors that compare regions by look: L, a, b and fine texture.

Computed once per frame (they are the costliest step after decoding) and unrolled by each detector around
the vanishing point as it needs.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.vision.geometry import FrameGeometry

TEXTURE_SIGMA = 1.0  # texture (at half size): how far each pixel's lightness is from its neighbourhood's (px)
OVERLAY_CONTRAST = 60  # 8-bit: a text stroke is this much brighter than its 5 px surroundings...
OVERLAY_BRIGHT = 170  # ...and this bright, and white (saturation under this, of 255): a camera's
OVERLAY_SATURATION = 40  # text is white; bright grit on settled deposits is not
DARK_LINE_KERNEL_PX = 9  # wider than a crack, narrower than a joint's shadow (15 was tried: docs/benchmarks.md)


def dark_lines(image: np.ndarray, text: np.ndarray | None = None) -> np.ndarray:
    """uint8, how much darker each pixel is than what is around it within a ``DARK_LINE_KERNEL_PX`` disc
    (a black-hat filter): cracks, joints, roots' strands, whatever the wall's colour or lighting. The
    gaps between the letters of burned-in text (``text``, from ``overlay_mask``) are not lines."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (DARK_LINE_KERNEL_PX, DARK_LINE_KERNEL_PX))
    lines = cv2.morphologyEx(cv2.GaussianBlur(gray, (3, 3), 0), cv2.MORPH_BLACKHAT, kernel)
    if text is not None:
        lines[text > 0] = 0
    return lines


def feature_stack(image: np.ndarray, overlay: np.ndarray | None = None) -> np.ndarray:
    """float32 H/2 x W/2 x 5: L, a, b (OpenCV's 8-bit Lab scale), texture and text overlay, at half the frame's size
    (regions are compared, not lines: a quarter of the pixels tells the same, at a quarter of the cost);
    ``on_stack`` scales a frame's geometry to it. ``overlay``: the camera's text lines and panels found on the
    frame (``overlay.overlay_mask``), added to the white strokes found here."""
    size = (image.shape[1] // 2, image.shape[0] // 2)
    half = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    overlay = overlay_mask(half) if overlay is None else np.maximum(overlay_mask(half), _halved(overlay, size))
    lab = cv2.cvtColor(half, cv2.COLOR_BGR2LAB)
    lightness = lab[..., 0].astype(np.float32)
    texture = cv2.absdiff(lightness, cv2.GaussianBlur(lightness, (0, 0), TEXTURE_SIGMA))
    return cv2.merge([lab.astype(np.float32), texture, overlay.astype(np.float32)])


def _halved(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A full-size 0/1 mask at the stack's size (a cell is masked when any of its pixels is)."""
    return cv2.resize(mask, size, interpolation=cv2.INTER_AREA).astype(bool).astype(np.float32)


def overlay_mask(image: np.ndarray) -> np.ndarray:
    """float32 1 where text is burned into the frame (chainage, date, mission: every CCTV camera writes
    some), 0 elsewhere: thin bright strokes, much brighter than what is around them, and a margin around
    them. Not the pipe: the detectors that compare regions leave it out."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    strokes = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, np.ones((5, 5), np.uint8))
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)[..., 1] < OVERLAY_SATURATION  # not sand's or a brick's glint
    text = ((strokes > OVERLAY_CONTRAST) & (gray > OVERLAY_BRIGHT) & grey).astype(np.uint8)
    return cv2.dilate(text, np.ones((7, 7), np.uint8)).astype(np.float32)


def on_stack(geometry: FrameGeometry, image: np.ndarray, stack: np.ndarray) -> FrameGeometry:
    """The frame's geometry in the stack's pixels."""
    return geometry.scaled(stack.shape[1] / image.shape[1])
