"""Where a frame's pipe is: its vanishing point, its near ring, and frames unrolled around them.

The camera model is docs/vision.md's: a wall point at clock angle phi and distance z ahead is seen at angle
phi around the vanishing point, at radius ``focal_px * R / z``. The near ring (0.5-1.5 m ahead) is where a
frame is analysed; unrolled (rows = clock angle from 12, clockwise; columns = radius), the pipe's wall is a
rectangle whose rows are clock positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

FOCAL_PX_AT_640 = 368.0  # the drone's camera: ~82 degrees across 640 px (a device setting, later)
NEAR_RING_M = (0.5, 1.5)
ANGLE_BINS = 360  # one row per degree
FAR_END_CONTRAST = 25  # 8-bit: the far end is at least this much darker than the frame's median (blurred)...
FAR_END_RELATIVE = 0.3  # ...or this share of it, in a dim frame (a dark wall's far end: 20 levels under 45)
EDGE_SHARE = 0.05  # the margin of the frame a far end's dark region must stay off (left, right, top)


@dataclass(frozen=True)
class FrameGeometry:
    cx: float
    cy: float
    k: float  # focal (px) x pipe radius (m): the radius in px of the wall 1 m ahead

    def radius_at(self, z_m: float) -> float:
        return self.k / z_m

    def scaled(self, factor: float) -> FrameGeometry:
        """The same geometry on the frame resized by ``factor``."""
        return FrameGeometry(self.cx * factor, self.cy * factor, self.k * factor)

    @property
    def near_ring(self) -> tuple[float, float]:
        """Inner and outer radius (px) of the near ring."""
        return self.radius_at(NEAR_RING_M[1]), self.radius_at(NEAR_RING_M[0])


@dataclass(frozen=True)
class FarEnd:
    """Where the far end of the pipe is seen, and the evidence that it is one (the gate reads it: ``quality.py``).

    The far end is the darkest compact region near the middle of the frame (the lamp does not reach it); around
    it the wall is lit on every side, except, below, dark water. ``contrast``: how much darker than the frame's
    median it is (8-bit, blurred); under ``FAR_END_CONTRAST`` (and under ``FAR_END_RELATIVE`` of that median, in
    a dim frame) nothing stands out: not ``found`` (a dark or fogged frame, a wall), and the image centre stands
    in. ``enclosed``: its dark region (within 15 % of its contrast) stays off the frame's
    left, right and top edges (``EDGE_SHARE``): a region that runs to them is a dark side, a shadow or dark water
    spreading across the frame, not the end of a pipe seen along its axis."""

    x: float
    y: float
    contrast: float
    enclosed: bool
    found: bool


def far_end(image: np.ndarray, overlay: np.ndarray | None = None) -> FarEnd:
    """The far end; ``overlay`` (``overlay.overlay_mask``): pixels that are the camera's text or panels, not the
    pipe (a dark caption panel must not pass for the far end): they take the frame's median grey."""
    h, w = image.shape[:2]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if overlay is not None and overlay.any():
        gray = gray.copy()
        gray[overlay > 0] = int(np.median(gray[::4, ::4]))
    scale = 2
    small = cv2.resize(gray, (w // scale, h // scale), interpolation=cv2.INTER_AREA).astype(np.float32)
    blurred = cv2.GaussianBlur(small, (0, 0), 4)
    y0, y1, x0, x1 = small.shape[0] // 5, small.shape[0] * 4 // 5, small.shape[1] // 5, small.shape[1] * 4 // 5
    centre = blurred[y0:y1, x0:x1]
    low, _, at, _ = cv2.minMaxLoc(centre)
    median = float(np.median(blurred))
    contrast = median - low
    if contrast <= FAR_END_CONTRAST and contrast <= FAR_END_RELATIVE * median:
        return FarEnd(w / 2, h / 2, contrast, True, False)
    # the centroid of the darkest blob around the minimum (sub-pixel, steadier than the minimum alone)
    dark = (centre <= low + 0.15 * contrast).astype(np.uint8)
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(dark)
    blob = labels[at[1], at[0]]
    bx = centroids[blob][0]
    top, width, height = stats[blob, cv2.CC_STAT_TOP], stats[blob, cv2.CC_STAT_WIDTH], stats[blob, cv2.CC_STAT_HEIGHT]
    # the far end is a disc; dark water below it stretches the blob downwards: its top and width hold
    by = top + (width - 1) / 2 if height > width else centroids[blob][1]
    enclosed = _enclosed(blurred, low, contrast, (int(at[0]), int(at[1])), x0, y0)
    return FarEnd((bx + x0 + 0.5) * scale, (by + y0 + 0.5) * scale, contrast, enclosed, True)


def _enclosed(blurred: np.ndarray, low: float, contrast: float, at: tuple[int, int], x0: int, y0: int) -> bool:
    """Whether the dark region of the minimum at ``at`` (in the centre window at ``x0, y0``), followed over
    the whole frame, stays off its left, right and top edges."""
    sh, sw = blurred.shape
    _, labels, stats, _ = cv2.connectedComponentsWithStats((blurred <= low + 0.15 * contrast).astype(np.uint8))
    left, top, width, _, _ = stats[labels[at[1] + y0, at[0] + x0]]
    edge_x, edge_y = EDGE_SHARE * sw, EDGE_SHARE * sh
    return bool(left > edge_x and top > edge_y and left + width < sw - edge_x)


def locate(image: np.ndarray, diameter_mm: int, overlay: np.ndarray | None = None) -> FrameGeometry:
    """The vanishing point (the far end, ``far_end``: the image centre when nothing stands out, as in a dark or
    fogged frame) and the camera's scale for this pipe."""
    return at_far_end(far_end(image, overlay), image.shape, diameter_mm)


def at_far_end(end: FarEnd, shape: tuple[int, ...], diameter_mm: int) -> FrameGeometry:
    """The frame's geometry around a far end already found."""
    focal = FOCAL_PX_AT_640 * shape[1] / 640
    return FrameGeometry(end.x, end.y, focal * diameter_mm / 2000)


def ring(geometry: FrameGeometry, margin: float = 0.0) -> tuple[float, float]:
    """The near ring's radii, widened by ``margin`` (a share of each radius) on both sides."""
    inner, outer = geometry.near_ring
    return inner * (1 - margin), outer * (1 + margin)


def unroll(
    image: np.ndarray,
    geometry: FrameGeometry,
    radius_bins: int = 64,
    margin: float = 0.0,
    radii: tuple[float, float] | None = None,
) -> np.ndarray:
    """The near ring unrolled: row i is the clock angle i degrees from 12 (clockwise), columns go outwards
    from the ring's inner radius to its outer one (parts outside the image are black). ``radii`` unrolls
    another annulus (inner, outer, px) instead."""
    inner, outer = radii or ring(geometry, margin)
    total = int(outer * radius_bins / max(outer - inner, 1))
    polar = cv2.warpPolar(
        image, (total, ANGLE_BINS), (geometry.cx, geometry.cy), outer, cv2.WARP_POLAR_LINEAR | cv2.INTER_LINEAR
    )
    # warpPolar's angle 0 is 3 o'clock, increasing clockwise on screen: 12 o'clock is its row 270
    polar = np.roll(polar, -270 * ANGLE_BINS // 360, axis=0)
    start = int(inner / outer * total)
    return polar[:, start:]


def sector(
    geometry: FrameGeometry, from_deg: float, to_deg: float, r_in: float, r_out: float
) -> tuple[tuple[int, int], ...]:
    """The outline of an annular sector (angles from 12, clockwise, degrees; radii in px) as a polygon."""
    span = (to_deg - from_deg) % 360 or 360
    angles = np.radians(from_deg + np.linspace(0, span, max(2, int(span / 5) + 1)))
    outer = [(geometry.cx + r_out * math.sin(a), geometry.cy - r_out * math.cos(a)) for a in angles]
    inner = [(geometry.cx + r_in * math.sin(a), geometry.cy - r_in * math.cos(a)) for a in angles[::-1]]
    return tuple((int(round(x)), int(round(y))) for x, y in outer + inner)


def clock_of(angle_deg: float) -> int:
    """An angle from 12 (clockwise, degrees) -> the clock hour, 1-12."""
    hour = round((angle_deg % 360) / 30) % 12
    return 12 if hour == 0 else hour


def inside_image(
    geometry: FrameGeometry,
    shape: tuple[int, ...],
    radius_bins: int = 64,
    margin: float = 0.0,
    radii: tuple[float, float] | None = None,
) -> np.ndarray:
    """Mask of the unrolled near ring's (or ``radii``'s annulus's) cells that fall inside the image."""
    h, w = shape[:2]
    inner, outer = radii or ring(geometry, margin)
    angles = np.radians(np.arange(ANGLE_BINS))[:, None]
    distances = np.linspace(inner, outer, radius_bins)[None, :]
    x = geometry.cx + distances * np.sin(angles)
    y = geometry.cy - distances * np.cos(angles)
    inside: np.ndarray = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    return inside


def level_from_half_angle(alpha_rad: float) -> float:
    """Water covering the wall within alpha of 6 o'clock -> its level, % of the height (docs/vision.md)."""
    return 100 * (1 - math.cos(alpha_rad)) / 2
